/** The messages between a service thread (host.ts) and the main thread (service-thread.ts). */

/** What a module run in a service thread exports. */
export interface ServiceModule<Options, Info> {
  /** Starts the service; `emit` sends an event to the main thread (structured-cloneable). */
  startService(options: Options, emit: (event: unknown) => void): Promise<RunningService<Info>>;
}

export interface RunningService<Info> {
  /** Posted to the main thread once started (endpoints, ports). */
  info: Info;
  /** Answers a request of the main thread (ServiceThread.request); its rejection keeps the error's name and message. */
  handle?(request: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export interface ServiceWorkerData {
  /** The service module's file URL. */
  entry: string;
  options: unknown;
}

/** An error as it crosses threads (a structured clone would drop its class). */
export interface ErrorDescription {
  name: string;
  message: string;
  code?: string;
}

export type FromThread =
  | { type: 'ready'; info: unknown }
  | ({ type: 'failed' } & ErrorDescription)
  | { type: 'event'; event: unknown }
  | { type: 'stopped'; error?: string }
  | { type: 'answer'; id: number; value: unknown }
  | ({ type: 'refusal'; id: number } & ErrorDescription);

export type ToThread = { type: 'stop' } | { type: 'request'; id: number; request: unknown };
