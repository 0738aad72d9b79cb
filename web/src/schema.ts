/**
 * The request body's JSON Schema, one branch per model of the registry
 * (functions/shared/provider/models.ts), embedded at build time by web/vite.config.ts.
 */
import requestSchema from 'virtual:generation-request-schema';

/** The subset of JSON Schema that zod's z.toJSONSchema emits for the request body. */
export interface JsonSchema {
  title?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

export interface ModelForm {
  model: string;
  /** Every body field but `model`, in the registry's order. */
  fields: Array<{ name: string; schema: JsonSchema; required: boolean }>;
}

export function modelForms(): ModelForm[] {
  return requestSchema.oneOf.map((branch) => {
    const model = branch.properties?.model?.const;
    if (typeof model !== 'string') throw new Error('each branch of the request schema names its model');
    const required = new Set(branch.required ?? []);
    const fields = Object.entries(branch.properties ?? {})
      .filter(([name]) => name !== 'model')
      .map(([name, schema]) => ({ name, schema, required: required.has(name) }));
    return { model, fields };
  });
}
