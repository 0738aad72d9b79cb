/** The local stack's resource names: one table, bucket, state machine and secret per data folder. */
import type { LocalResourceNames } from './template/intrinsics.js';

/** Shared by the stack, `reelhook keys` (which opens the same store), tests and the bench. */
export const LOCAL_NAMES: LocalResourceNames = {
  tableName: 'reelhook',
  bucketName: 'reelhook-videos',
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:reelhook',
  secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:reelhook-provider-key',
  region: 'us-east-1',
  accountId: '000000000000',
};
