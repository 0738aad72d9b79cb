import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger per function; handlers add the generation id to every line. */
export const createLogger = (step: string): Logger => new Logger({ serviceName: 'reelhook', persistentKeys: { step } });
