/**
 * cdk-nag's AWS Solutions rules over the stack exactly as `cdk synth` builds it:
 * no finding may be left unacknowledged, and every acknowledgement names its rule
 * precisely and says why.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REELHOOK_STACK_ID, ReelhookStack } from '../../infra/reelhook-stack.js';

interface Violation {
  ruleName: string;
  violatingConstructs: Array<{ constructPath: string }>;
}
interface Acknowledgement {
  id: string;
  path: string;
  reason: string;
}

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const outdirs: string[] = [];

/** An app with cdk.json's context and the AWS Solutions checks; bundling skipped. */
async function nagApp(): Promise<App> {
  const { context } = JSON.parse(await readFile(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const outdir = await mkdtemp(join(tmpdir(), 'reelhook-nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Synthesizes, and returns the violations of the validation report (synthesis throws when there are any). */
async function violationsOf(app: App): Promise<Violation[]> {
  let failure: Error | undefined;
  try {
    app.synth();
  } catch (error) {
    failure = error as Error;
  }
  const report = JSON.parse(await readFile(join(app.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{ violations: Violation[] }>;
  };
  const violations = report.pluginReports.flatMap((plugin) => plugin.violations);
  if (failure !== undefined && violations.length === 0) throw failure;
  return violations;
}

function acknowledgementsUnder(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ id, path: construct.node.path, reason })),
      ),
  );
}

let violations: Violation[];
let acknowledgements: Acknowledgement[];

beforeAll(async () => {
  const app = await nagApp();
  const stack = new ReelhookStack(app, REELHOOK_STACK_ID);
  violations = await violationsOf(app);
  acknowledgements = acknowledgementsUnder(stack);
});

afterAll(async () => {
  await Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('AWS Solutions checks', () => {
  it('leaves no finding unacknowledged', () => {
    const findings = violations.flatMap((violation) =>
      violation.violatingConstructs.map((construct) => `${violation.ruleName} at ${construct.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('reports a finding for a non-compliant resource (the checks really run)', async () => {
    const app = await nagApp();
    new Bucket(new Stack(app, 'Canary'), 'Plain');
    const rules = (await violationsOf(app)).map((violation) => violation.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });

  it('acknowledges only the reviewed rules, each finding by name, with a reason', () => {
    const table = acknowledgements.map(({ id, path, reason }) => ({
      // aws-cdk-lib files plain rule ids under its `Annotation::` namespace; cdk-nag matches them there.
      rule: id.replace(/^annotation::/i, ''),
      at: path.replace(`${REELHOOK_STACK_ID}/Orchestrator/`, ''),
      reason: `${reason.slice(0, 90)}…`,
    }));
    console.table(table);

    const rules = new Set(table.map(({ rule }) => rule.replace(/\[.*$/s, '')));
    expect([...rules].sort()).toEqual(
      ['AwsSolutions-APIG4', 'AwsSolutions-IAM5', 'AwsSolutions-S1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3'].sort(),
    );
    // Wildcards are acknowledged one resource pattern at a time, never the rule as a whole.
    const wildcards = table.filter(({ rule }) => rule.startsWith('AwsSolutions-IAM5'));
    for (const { rule, at } of wildcards) {
      expect(rule, at).toMatch(
        /^AwsSolutions-IAM5\[Resource::(\*|<\w+\.Arn>\/videos\/\*|<\w+\.Arn>:\*|arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:[\w-]+:\*)\]$/,
      );
    }
    for (const { id, path, reason } of acknowledgements) {
      expect(reason.length, `${id} at ${path}`).toBeGreaterThanOrEqual(120);
    }
  });
});
