// The layering rules of issue 18 item 8, checked in CI (`npm run depcruise`): the import graph
// shows the flow only while nothing reaches across it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one; split the shared part out instead.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-handler-to-handler',
      severity: 'error',
      comment:
        'A function (functions/<name>/) is one Lambda bundle; what two of them share belongs in functions/shared/.',
      from: { path: '^functions/(?!shared/)([^/]+)/' },
      to: { path: '^functions/(?!shared/)([^/]+)/', pathNot: '^functions/$1/' },
    },
    {
      name: 'shared-not-to-handlers',
      severity: 'error',
      comment: 'functions/shared/ is what the functions have in common, so it depends on none of them.',
      from: { path: '^functions/shared/' },
      to: { path: '^functions/(?!shared/)[^/]+/' },
    },
    {
      name: 'local-not-to-cli',
      severity: 'error',
      comment: 'The local stack is a library the CLI drives, never the other way round.',
      from: { path: '^local/' },
      to: { path: '^cli/' },
    },
    {
      name: 'functions-not-to-tooling',
      severity: 'error',
      comment: 'Lambda code must not bundle the local stand-ins, the CDK app or the benchmarks.',
      from: { path: '^functions/' },
      to: { path: '^(local|infra|bench)/' },
    },
    {
      name: 'client-standalone',
      severity: 'error',
      comment: 'The published client (reelhook/client) is compiled alone: it must not pull in server, local or CLI code.',
      from: { path: '^client/' },
      to: { path: '^(functions|local|cli|infra|bench|web)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing fails at run time (or in the bundle).',
      from: {},
      // Vite's virtual modules (web/vite.config.ts) exist only inside the dashboard build.
      to: { couldNotResolve: true, pathNot: '^virtual:' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports form no run-time edge, but a type cycle still ties two modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
