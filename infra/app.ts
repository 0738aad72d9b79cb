import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { REELHOOK_STACK_ID, ReelhookStack } from './reelhook-stack.js';

const app = new App();
new ReelhookStack(app, REELHOOK_STACK_ID);
// `cdk synth` and `cdk deploy` fail on any AWS Solutions finding that is not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
