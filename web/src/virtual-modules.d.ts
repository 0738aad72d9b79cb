declare module 'virtual:generation-request-schema' {
  const schema: { oneOf: import('./schema.js').JsonSchema[] };
  export default schema;
}
