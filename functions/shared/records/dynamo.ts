import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traceClient } from '#shared/runtime/observability.js';

/** Document client shared by the stores; locally the SDK reads AWS_ENDPOINT_URL_DYNAMODB itself. */
export function createDocumentClient(client: DynamoDBClient = traceClient(new DynamoDBClient({}))): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/**
 * A caller's JSON value as the document client marshals it exactly: every object as a Map.
 * The client tells a plain object by its `constructor` property, which a `constructor` key
 * shadows (`{"constructor":{"name":"String"}}` was even stored as a string); a Map it reads
 * by its entries alone. Unmarshalled, the maps come back as plain objects.
 */
export function asDocument(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDocument);
  if (typeof value !== 'object' || value === null) return value;
  return new Map(Object.entries(value).map(([key, inner]) => [key, asDocument(inner)]));
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

export interface UpdateParts {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * Builds `SET a = :v0, b.c = :v1` from `{ a: …, 'b.c': … }`: dotted keys address
 * nested map attributes, every name is aliased so reserved words never bite.
 */
export function setExpression(fields: Record<string, unknown>, extraValues: Record<string, unknown> = {}): UpdateParts {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ...extraValues };
  const assignments: string[] = [];
  let nameIndex = 0;
  const aliasOf = new Map<string, string>();
  const alias = (segment: string): string => {
    let existing = aliasOf.get(segment);
    if (!existing) {
      existing = `#n${nameIndex++}`;
      aliasOf.set(segment, existing);
      names[existing] = segment;
    }
    return existing;
  };
  Object.entries(fields).forEach(([path, value], index) => {
    const placeholder = `:v${index}`;
    values[placeholder] = value;
    assignments.push(`${path.split('.').map(alias).join('.')} = ${placeholder}`);
  });
  return {
    UpdateExpression: `SET ${assignments.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
