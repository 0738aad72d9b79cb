import { App } from 'aws-cdk-lib';
import { REELHOOK_STACK_ID, ReelhookStack } from './reelhook-stack.js';

const app = new App();
new ReelhookStack(app, REELHOOK_STACK_ID);
app.synth();
