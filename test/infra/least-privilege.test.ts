/**
 * Least privilege, checked (issue 17 item 7): every IAM action the synthesized template
 * grants a function is one that function's code calls, or is listed in ALLOWED with its
 * reason.
 *
 * "Its code" is what deploys: each handler bundled by esbuild as infra/lambda-function.ts
 * bundles it, so a module whose exports the handler never uses is tree-shaken out and
 * does not count. Within the modules that remain, a call is a `new XCommand(…)` of an AWS
 * SDK client (or lib-dynamodb) or a call of a helper listed in HELPERS. The granularity
 * is the module: a store class counts with all of its methods.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_METADATA_KEY } from '#shared/facts.js';
import { createReelhookStack } from '../../local/template/synth.js';

const REPO_ROOT = join(import.meta.dirname, '../..');
const FUNCTION_NAMES = ['api', 'intake', 'create', 'status', 'copy', 'record', 'notify'] as const;
type FunctionName = (typeof FUNCTION_NAMES)[number];

const LOGS = 'Lambda writes what the function prints to its own log group, with the function’s role.';
const TRACING = 'Active tracing: Lambda sends the trace segments of each invocation, with the function’s role.';
const ON_FAILURE =
  'The asynchronous invocation’s on-failure destination: Lambda sends an event that failed every retry to the ' +
  'dead-letter queue, with the function’s role (CDK’s SqsDestination grants these three).';

/** Actions that Lambda itself performs with the function's role, never the function's code. */
const ALLOWED = Object.fromEntries(
  FUNCTION_NAMES.map((name): [FunctionName, Record<string, string>] => [
    name,
    {
      'logs:CreateLogStream': LOGS,
      'logs:PutLogEvents': LOGS,
      'xray:PutTraceSegments': TRACING,
      'xray:PutTelemetryRecords': TRACING,
      ...(name === 'intake' && {
        'sqs:SendMessage': ON_FAILURE,
        'sqs:GetQueueAttributes': ON_FAILURE,
        'sqs:GetQueueUrl': ON_FAILURE,
      }),
    },
  ]),
) as Record<FunctionName, Record<string, string>>;

/** IAM service prefix of each SDK package whose commands our code sends. */
const SERVICES: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
};

/** Commands whose IAM action is not named after them. */
const ACTION_OF_COMMAND: Record<string, string> = {
  // lib-dynamodb's document commands wrap the item operations.
  'dynamodb:Get': 'dynamodb:GetItem',
  'dynamodb:Put': 'dynamodb:PutItem',
  'dynamodb:Update': 'dynamodb:UpdateItem',
  'dynamodb:Delete': 'dynamodb:DeleteItem',
  'dynamodb:BatchGet': 'dynamodb:BatchGetItem',
  'dynamodb:BatchWrite': 'dynamodb:BatchWriteItem',
  // S3 authorizes the parts of a multipart upload as s3:PutObject.
  's3:CreateMultipartUpload': 's3:PutObject',
  's3:UploadPart': 's3:PutObject',
  's3:CompleteMultipartUpload': 's3:PutObject',
  's3:HeadObject': 's3:GetObject',
};

/** Library helpers that send a request of their own. */
const HELPERS: Record<string, Record<string, string>> = {
  '@aws-lambda-powertools/parameters/secrets': { getSecret: 'secretsmanager:GetSecretValue' },
};

/** The AWS actions a module's code calls, read from its imports and their uses. */
function actionsCalledIn(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const actionOf = new Map<string, string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || statement.importClause?.isTypeOnly) continue;
    const from = (statement.moduleSpecifier as ts.StringLiteral).text;
    const bindings = statement.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) {
      if (element.isTypeOnly) continue;
      const imported = (element.propertyName ?? element.name).text;
      const helper = HELPERS[from]?.[imported];
      if (helper) actionOf.set(element.name.text, helper);
      const service = SERVICES[from];
      if (service && imported.endsWith('Command')) {
        const action = `${service}:${imported.slice(0, -'Command'.length)}`;
        actionOf.set(element.name.text, ACTION_OF_COMMAND[action] ?? action);
      }
    }
  }
  const called = new Set<string>();
  const visit = (node: ts.Node): void => {
    const callee = ts.isNewExpression(node) || ts.isCallExpression(node) ? node.expression : undefined;
    if (callee && ts.isIdentifier(callee) && actionOf.has(callee.text)) called.add(actionOf.get(callee.text)!);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...called];
}

/** Our own modules (not node_modules) that remain in each function's bundle. */
async function bundledModules(): Promise<Record<FunctionName, string[]>> {
  const result = await build({
    entryPoints: Object.fromEntries(FUNCTION_NAMES.map((name) => [name, join(REPO_ROOT, `functions/${name}/handler.ts`)])),
    absWorkingDir: REPO_ROOT,
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    mainFields: ['module', 'main'],
    outdir: 'out',
    logLevel: 'silent',
  });
  const modules = {} as Record<FunctionName, string[]>;
  for (const output of Object.values(result.metafile.outputs)) {
    const name = FUNCTION_NAMES.find((fn) => output.entryPoint === `functions/${fn}/handler.ts`);
    if (!name) continue;
    modules[name] = Object.entries(output.inputs)
      .filter(([path, input]) => input.bytesInOutput > 0 && !path.includes('node_modules/'))
      .map(([path]) => path);
  }
  return modules;
}

let granted: Record<FunctionName, string[]>;
let called: Record<FunctionName, Set<string>>;

beforeAll(async () => {
  const template = Template.fromStack(await createReelhookStack()).toJSON();
  const resources = Object.values(template.Resources as Record<string, { Type: string; Properties: any; Metadata?: any }>);
  granted = {} as Record<FunctionName, string[]>;
  for (const name of FUNCTION_NAMES) {
    const fn = resources.filter(
      (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.[ENTRY_METADATA_KEY] === `functions/${name}/handler.ts`,
    );
    expect(fn, name).toHaveLength(1);
    const role = JSON.stringify({ Ref: fn[0]!.Properties.Role['Fn::GetAtt'][0] });
    const actions = resources
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .filter((policy) => policy.Properties.Roles.some((r: unknown) => JSON.stringify(r) === role))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<{ Effect: string; Action: string | string[] }>)
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) => [statement.Action].flat());
    granted[name] = [...new Set(actions)].sort();
  }
  const modules = await bundledModules();
  called = {} as Record<FunctionName, Set<string>>;
  for (const name of FUNCTION_NAMES) {
    called[name] = new Set(modules[name].flatMap((path) => actionsCalledIn(join(REPO_ROOT, path))));
  }
});

describe('least privilege', () => {
  it.each(FUNCTION_NAMES)('grants %s only actions its code calls, or that Lambda performs for it', (name) => {
    const unexplained = granted[name].filter((action) => !called[name].has(action) && !(action in ALLOWED[name]));
    expect(unexplained, `granted to ${name} but never called by its code`).toEqual([]);
  });

  it.each(FUNCTION_NAMES)('lists for %s only actions the template really grants', (name) => {
    expect(Object.keys(ALLOWED[name]).filter((action) => !granted[name].includes(action))).toEqual([]);
  });

  it('reads the calls from the code: the steps that talk to AWS are seen calling it', () => {
    // Guards the reader itself: were it to see nothing, every grant would look unexplained,
    // and were it to see everything, the check above would pass vacuously.
    // The copy's multipart commands map to the two S3 actions IAM knows them by.
    expect([...called.copy].filter((action) => action.startsWith('s3:')).sort()).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
    // A library helper (Powertools' getSecret) counts as the request it sends.
    expect([...called.create].filter((action) => action.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
    expect(called.api.has('states:StopExecution')).toBe(true);
    expect(called.api.has('states:GetExecutionHistory')).toBe(true);
    // Only what a function bundles counts: status never starts an execution.
    expect(called.status.has('states:StartExecution')).toBe(false);
  });
});
