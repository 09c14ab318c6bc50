/**
 * The parts of drachtio-srf 5.x that watrunk uses, typed by hand: the package's own .d.ts lacks
 * srf.options(), types Dialog.destroy() as void, and misses event arguments
 * (docs/sip.md#drachtio-pitfalls). Everything here matches lib/srf.js, lib/dialog.js,
 * lib/request.js and lib/response.js of drachtio-srf 5.0.29.
 */
export interface SrfUri {
  scheme?: string;
  user?: string;
  host?: string;
  port?: number;
  params?: Record<string, string>;
}

export interface SrfHeaderOpts {
  headers?: Record<string, string>;
  body?: string;
}

export interface SrfRequest {
  method: string;
  uri: string;
  body: string;
  callId: string;
  source_address: string;
  source_port: number;
  protocol: string;
  canceled?: boolean;
  get(name: string): string | undefined;
  has(name: string): boolean;
  getParsedHeader(name: 'from' | 'to'): { uri: string; name?: string; params?: Record<string, string> };
  on(event: 'cancel', cb: (msg?: unknown) => void): void;
}

export interface SrfResponse {
  finalResponseSent: boolean;
  send(status: number, reason?: string | SrfHeaderOpts, opts?: SrfHeaderOpts | ((err: unknown) => void)): void;
}

/** A response watrunk received (lib/response.js): the final answer to its own request. */
export interface SrfIncomingResponse {
  status: number;
  reason?: string;
  get(name: string): string | undefined;
}

export interface SrfDialog {
  connected: boolean;
  /** contact: the Contact watrunk sent when the dialog was made. */
  local: { sdp: string; contact?: string };
  remote: { sdp: string };
  /** UAC dialog: the PBX's 200 OK; UAS dialog: the 200 OK watrunk sent. */
  res?: { get(name: string): string | undefined };
  /**
   * An in-dialog request; resolves with the final response whatever its status (dialog.js
   * request()), rejects only when it could not be sent. An INVITE's ACK is sent by drachtio-srf.
   */
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfIncomingResponse>;
  destroy(opts?: { headers?: Record<string, string> }): Promise<unknown>;
  on(event: 'destroy', cb: (req: SrfRequest, reason?: string) => void): void;
  on(event: 'modify' | 'update', cb: (req: SrfRequest, res: SrfResponse) => void): void;
}

export type SrfHandler = (req: SrfRequest, res: SrfResponse, next?: () => void) => void;

/** How createUAC rejects on a final failure (lib/sip_error.js; srf.js sets `res` to the response). */
export interface SrfUacError {
  status?: number;
  reason?: string;
  message?: string;
  res?: { get(name: string): string | undefined };
}

/** The slice of drachtio-srf's createUAC that watrunk uses (srf.js createUAC, new-style callbacks). */
export interface SrfUac {
  createUAC(uri: string, opts: {
    localSdp: string; headers?: Record<string, string>; callingNumber?: string; callingName?: string;
    auth?: { username: string; password: string };
    /** Outbound proxy: where the INVITE goes, whatever its Request-URI (srf.js createUAC). */
    proxy?: string;
  }, callbacks: {
    cbRequest?: (err: unknown, req: { cancel(): void }) => void;
    cbProvisional?: (res: { status: number; body?: string }) => void;
  }): Promise<SrfDialog>;
}

export interface SrfLike extends SrfUac {
  connect(opts: { host: string; port: number; secret: string; reconnect?: { retryMaxDelay?: number } }): unknown;
  disconnect(): void;
  on(event: 'connect', cb: (err: Error | null, hostport?: string, version?: string) => void): void;
  on(event: 'close' | 'error' | 'reconnecting', cb: (arg?: unknown) => void): void;
  invite(handler: SrfHandler): void;
  options(handler: SrfHandler): void;
  createUAS(req: SrfRequest, res: SrfResponse, opts: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog>;
  /** An out-of-dialog request (srf.js request()); the callback gets the sent request, whose 'response' event carries the answer. */
  request?(uri: string, opts: { method: string; headers?: Record<string, string>; proxy?: string }, cb: (err: unknown, req: { on(event: 'response', cb: (res: SrfIncomingResponse) => void): void }) => void): void;
  use?(method: string, mw: SrfHandler): void;
}
