/**
 * CloudFormation intrinsics, evaluated for local mode: what each `Ref` and `Fn::GetAtt`
 * of the synthesized template names locally, and the functions CDK writes around them
 * (`Fn::Join`, `Fn::Sub`). Anything else fails naming the token; nothing is left in place.
 *
 * Not cfn-resolver-lib: tried on this template, it leaves a token it cannot resolve in
 * place (and warns on the console for every `Fn::GetAtt` without an override, 88 here)
 * where local mode must fail naming it; its `Fn::Sub` resolves neither `${Resource.Attr}`
 * nor `${!Literal}`; it has no types and brings about 90 packages. These four intrinsics
 * are a page of code.
 */
import type { CfnTemplate } from './synth.js';

/** The names local mode gives the template's resources. */
export interface LocalResourceNames {
  tableName: string;
  bucketName: string;
  stateMachineArn: string;
  secretArn: string;
  region: string;
  accountId: string;
}

/** The logical ids of the resources that have a local name. */
interface NamedResourceIds {
  table: string;
  bucket: string;
  stateMachine: string;
  secret: string;
}

/** The template holds something local mode cannot map to a local resource. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
}

interface Intrinsics {
  ref(logicalId: string): string;
  getAtt(logicalId: string, attribute: string): string;
}

/**
 * Refs/GetAtts for local mode: Lambda ARNs become `arn:aws:lambda:<region>:<account>:function:<LogicalId>`,
 * the table, bucket, state machine and secret become the local names, and an event bus
 * keeps its own name (the functions only pass it to PutEvents).
 */
export function localIntrinsics(resources: CfnTemplate['Resources'], ids: NamedResourceIds, names: LocalResourceNames): Intrinsics {
  const eventBusName = (logicalId: string): string | undefined => {
    const resource = resources[logicalId];
    const name = resource?.Properties?.Name;
    return resource?.Type === 'AWS::Events::EventBus' && typeof name === 'string' ? name : undefined;
  };
  const ref = (logicalId: string): string => {
    switch (logicalId) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return names.region;
      case 'AWS::AccountId':
        return names.accountId;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case ids.table:
        return names.tableName;
      case ids.bucket:
        return names.bucketName;
      case ids.stateMachine:
        return names.stateMachineArn;
      case ids.secret:
        return names.secretArn;
    }
    if (resources[logicalId]?.Type === 'AWS::Lambda::Function') return logicalId;
    const busName = eventBusName(logicalId);
    if (busName !== undefined) return busName;
    throw new TemplateResolutionError(`cannot resolve {"Ref": "${logicalId}"} for local mode`);
  };
  const getAtt = (logicalId: string, attribute: string): string => {
    const type = resources[logicalId]?.Type;
    if (type === 'AWS::Lambda::Function' && attribute === 'Arn') return localLambdaArn(logicalId, names);
    if (logicalId === ids.table && attribute === 'Arn') {
      return `arn:aws:dynamodb:${names.region}:${names.accountId}:table/${names.tableName}`;
    }
    if (logicalId === ids.bucket && attribute === 'Arn') return `arn:aws:s3:::${names.bucketName}`;
    if (logicalId === ids.stateMachine && attribute === 'Arn') return names.stateMachineArn;
    if (logicalId === ids.stateMachine && attribute === 'Name') {
      return names.stateMachineArn.slice(names.stateMachineArn.lastIndexOf(':') + 1);
    }
    const busName = eventBusName(logicalId);
    if (busName !== undefined && attribute === 'Name') return busName;
    if (busName !== undefined && attribute === 'Arn') {
      return `arn:aws:events:${names.region}:${names.accountId}:event-bus/${busName}`;
    }
    throw new TemplateResolutionError(`cannot resolve {"Fn::GetAtt": ["${logicalId}", "${attribute}"]} for local mode`);
  };
  return { ref, getAtt };
}

/** The ARN a function has locally, as the definition's Task states name it. */
export function localLambdaArn(logicalId: string, names: LocalResourceNames): string {
  return `arn:aws:lambda:${names.region}:${names.accountId}:function:${logicalId}`;
}

/** {@link resolveValue}, for a value that must come out a string. */
export function resolveString(value: unknown, where: string, intrinsics: Intrinsics): string {
  const resolved = resolveValue(value, where, intrinsics);
  if (typeof resolved !== 'string') {
    throw new TemplateResolutionError(`${where} resolves to ${JSON.stringify(resolved)}, not a string`);
  }
  return resolved;
}

/** Evaluates Ref, Fn::GetAtt, Fn::Join and Fn::Sub; any other intrinsic is an error naming it. */
function resolveValue(value: unknown, where: string, intrinsics: Intrinsics): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, where, intrinsics));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length !== 1 || key === undefined || !(key === 'Ref' || key.startsWith('Fn::'))) {
    return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, where, intrinsics)]));
  }
  const fail = (): never => {
    throw new TemplateResolutionError(`cannot resolve ${JSON.stringify(value)} in ${where}`);
  };
  const str = (v: unknown): string => {
    const resolved = resolveValue(v, where, intrinsics);
    return typeof resolved === 'string' ? resolved : fail();
  };
  switch (key) {
    case 'Ref':
      return typeof argument === 'string' ? intrinsics.ref(argument) : fail();
    case 'Fn::GetAtt': {
      const [logicalId, attribute] =
        typeof argument === 'string' ? argument.split(/\.(.*)/s) : Array.isArray(argument) ? (argument as unknown[]) : [];
      return typeof logicalId === 'string' && typeof attribute === 'string'
        ? intrinsics.getAtt(logicalId, str(attribute))
        : fail();
    }
    case 'Fn::Join': {
      if (!Array.isArray(argument) || argument.length !== 2) return fail();
      const [separator, list] = argument as [unknown, unknown];
      const items = resolveValue(list, where, intrinsics);
      return typeof separator === 'string' && Array.isArray(items) ? items.map(str).join(separator) : fail();
    }
    case 'Fn::Sub': {
      const [text, variables] = typeof argument === 'string' ? [argument, {}] : Array.isArray(argument) ? (argument as unknown[]) : [];
      if (typeof text !== 'string' || variables === null || typeof variables !== 'object') return fail();
      const bound = variables as Record<string, unknown>;
      return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, name: string) => {
        if (literal) return `\${${name}}`;
        if (name in bound) return str(bound[name]);
        const dot = name.indexOf('.');
        return dot < 0 ? intrinsics.ref(name) : intrinsics.getAtt(name.slice(0, dot), name.slice(dot + 1));
      });
    }
    default:
      return fail();
  }
}
