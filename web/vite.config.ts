/**
 * Builds the dashboard that `reelhook dev` serves (local/dashboard.ts) into web/dist.
 * `npm run build:web`; `npm ci` runs it through the `prepare` script.
 */
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { defineConfig, type Plugin } from 'vite';

const GENERATION_SCHEMA = 'virtual:generation-request-schema';
const GENERATION_REQUEST_MODULE = fileURLToPath(new URL('../functions/shared/generations/request.ts', import.meta.url));

/**
 * The form follows the model registry: this module is the JSON Schema of the request
 * body, one branch per model, computed at build time by the same function the API's
 * OpenAPI document uses, so the browser bundle carries data, not zod.
 */
function generationRequestSchema(): Plugin {
  const resolvedId = `\0${GENERATION_SCHEMA}`;
  return {
    name: 'reelhook:generation-request-schema',
    resolveId: (id) => (id === GENERATION_SCHEMA ? resolvedId : undefined),
    async load(id) {
      if (id !== resolvedId) return undefined;
      const module = (await tsImport(GENERATION_REQUEST_MODULE, import.meta.url)) as {
        generationRequestJsonSchema(): Record<string, unknown>;
      };
      return `export default ${JSON.stringify(module.generationRequestJsonSchema())};`;
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Nothing is copied verbatim: every file is referenced from index.html and gets a hashed name.
  publicDir: false,
  plugins: [generationRequestSchema()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  // `npx vite --config web/vite.config.ts` while `reelhook dev` runs: the page with live reload, the API proxied.
  server: {
    proxy: { '/v2': 'http://127.0.0.1:8787' },
  },
});
