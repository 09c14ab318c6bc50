import { readFileSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { StartupError } from '../config/load.js';
import type { JournalConfig } from '../config/schema.js';
import type { Logger } from '../logging.js';
import { CALL_DIRECTIONS, type CallDirection } from '../calls/ports/whatsapp-events.js';

/**
 * The call journal: every WhatsApp call Meta may be billing, kept on disk until it needs nothing
 * more on WhatsApp, so that the start after a crash (kill -9, OOM) can end what the dead process
 * left open (crash-recovery.ts). README "Crash recovery (the call journal)".
 *
 * Why a file of JSON lines, appended and fsync'd, rather than an embedded store from npm (SQLite,
 * LMDB, LevelDB): those are native modules (a build toolchain or prebuilt binaries per platform in
 * the image) for a few records per call that are read back only once, at start-up, by the one
 * process that writes them. A record is appended before `connect`/`accept` is sent; a line torn by a
 * crash is the last one and is skipped; the file is rewritten with only the live
 * calls at start-up and whenever it has grown well past them (write, fsync, rename, fsync the
 * directory: https://man7.org/linux/man-pages/man2/rename.2.html). Concurrent writes are batched
 * into one write and one fdatasync (group commit).
 *
 * When a record counts as written (`journal.sync`): `interval` (the default) once the append has
 * reached the kernel, which is what a crash of watrunk itself (kill -9, OOM) cannot undo, with an
 * fdatasync at most `sync_interval_ms` later for a crash of the whole machine; `each_write` only
 * after its fdatasync. Measured with bench:cps at 100 calls/s: waiting for fdatasync before each
 * `connect` added ~70 ms to the p99 post-dial delay and ~1 ms of CPU per call.
 *
 * A line is {"put": <JournaledCall>} (the call's whole current record) or {"del": "<call id>"}.
 */

const journaledCallSchema = z.object({
  callId: z.string().min(1),
  waCallId: z.string().min(1).optional(),
  number: z.string().min(1),
  direction: z.enum(CALL_DIRECTIONS),
  startedAt: z.string(),
  endWith: z.enum(['terminate', 'reject']),
  cdrWritten: z.literal(true).optional(),
  // Optional: journals written before it was kept have no user and still load.
  user: z.string().min(1).optional(),
}).strict();

export interface JournaledCall {
  /** watrunk's call id; also the biz_opaque_callback_data sent with `connect` and `accept`. */
  callId: string;
  /** WhatsApp's call id; absent while `connect` is in flight. */
  waCallId?: string;
  /** Business number name (numbers[].name). */
  number: string;
  direction: CallDirection;
  /** ISO 8601. */
  startedAt: string;
  /** How to end it on WhatsApp: `reject` until `accept` has been sent, then `terminate`. */
  endWith: 'terminate' | 'reject';
  /** The call ended here and wrote its CDR; only Meta's confirmation of the end is missing. */
  cdrWritten?: true;
  /**
   * The WhatsApp user (phone digits or a BSUID). Providers whose call API names the user on every
   * action need it to end the call after a crash: Concepto Móvil's `to` (docs/providers.md#concepto-movil).
   */
  user?: string;
}

export interface CallJournal {
  /** Calls a previous run left in the journal (read when it was opened). */
  readonly leftOver: readonly JournaledCall[];
  /** Records the call (replacing its earlier record); resolves once the record is on disk. */
  record(call: JournaledCall): Promise<void>;
  /** The call needs nothing more on WhatsApp. Written with the next batch; not waited for. */
  forget(callId: string): void;
  /** Resolves once everything recorded or forgotten so far is on disk. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

const line = (doc: unknown) => `${JSON.stringify(doc)}\n`;

/** Replays journal text; torn or unreadable lines are skipped (and counted). */
function replay(text: string): { calls: Map<string, JournaledCall>; skipped: number[] } {
  const calls = new Map<string, JournaledCall>();
  const skipped: number[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const doc = JSON.parse(raw) as { put?: unknown; del?: unknown };
      if (typeof doc.del === 'string') calls.delete(doc.del);
      else {
        const call = journaledCallSchema.parse(doc.put) as JournaledCall;
        calls.set(call.callId, call);
      }
    } catch {
      skipped.push(i + 1);
    }
  });
  return { calls, skipped };
}

/** The live calls in a journal file, as the next start would find them (tests, inspection). */
export function readCallJournal(path: string): JournaledCall[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return [...replay(text).calls.values()];
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Appends synchronously: a write of a few hundred bytes into the page cache takes microseconds,
 * while FileHandle.appendFile's trip through the thread pool and its promises cost ~0.5 ms of CPU
 * per call in the CPS profile. Only the fdatasync, which waits for the disk, stays asynchronous.
 */
function appendAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** Replaces `path` with exactly these calls, durably. */
async function rewrite(path: string, calls: Iterable<JournaledCall>): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile([...calls].map((c) => line({ put: c })).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDirectory(dirname(path));
}

export interface FileCallJournalOptions {
  logger: Logger;
  /** Rewrite the file once this many lines were appended since the last rewrite (and they outnumber live calls 2:1). */
  compactAfterLines?: number;
  /** When record() resolves: after the append with an fdatasync within intervalMs, or after each fdatasync (default). */
  sync?: { mode: 'interval' | 'each_write'; intervalMs: number };
}

export class FileCallJournal implements CallJournal {
  private readonly live: Map<string, JournaledCall>;
  private queue: string[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private writing?: Promise<void>;
  private linesSinceRewrite = 0;
  private closed = false;
  private syncTimer?: NodeJS.Timeout;
  private syncing?: Promise<void>;

  private constructor(
    private readonly path: string,
    private handle: FileHandle,
    readonly leftOver: readonly JournaledCall[],
    private readonly log: Logger,
    private readonly compactAfterLines: number,
    private readonly sync: { mode: 'interval' | 'each_write'; intervalMs: number },
  ) {
    this.live = new Map(leftOver.map((c) => [c.callId, c]));
    this.linesSinceRewrite = leftOver.length;
  }

  /** Opens (creating the directory and file) and reads what a previous run left. */
  static async open(path: string, opts: FileCallJournalOptions): Promise<FileCallJournal> {
    const log = opts.logger.child({ component: 'journal' });
    await mkdir(dirname(path), { recursive: true });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { calls, skipped } = replay(text);
    // A last line without its newline was torn by a crash in mid-write: expected, not a problem.
    const lineCount = text.split('\n').length;
    const unreadable = skipped.filter((n) => n !== lineCount || text.endsWith('\n'));
    if (unreadable.length) log.warn({ path, lines: unreadable }, 'call journal lines that cannot be read were skipped');
    // Start from a file holding only the live calls: no torn tail for new lines to glue onto.
    await rewrite(path, calls.values());
    const handle = await open(path, 'a', 0o600);
    log.info({ path, leftOver: calls.size }, 'call journal open');
    return new FileCallJournal(path, handle, [...calls.values()], log, opts.compactAfterLines ?? 10_000, opts.sync ?? { mode: 'each_write', intervalMs: 0 });
  }

  record(call: JournaledCall): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the call journal is closed'));
    this.live.set(call.callId, { ...call });
    return this.append(line({ put: call }));
  }

  forget(callId: string): void {
    if (this.closed || !this.live.delete(callId)) return;
    this.append(line({ del: callId })).catch((err: unknown) => this.log.error({ err, callId }, 'call journal write failed'));
  }

  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    await this.syncing;
    await this.handle.datasync().catch(() => undefined);
    await this.handle.close();
  }

  /** sync mode `interval`: one fdatasync for everything appended in the last interval. */
  private scheduleSync(): void {
    if (this.syncTimer || this.closed) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.syncing = (async () => {
        await this.flushed();
        if (this.closed) return;
        try {
          await this.handle.datasync();
        } catch (err) {
          // The handle was replaced by a compaction meanwhile (its rewrite was synced itself).
          this.log.debug({ err }, 'call journal fdatasync skipped');
        }
      })().finally(() => { this.syncing = undefined; });
    }, this.sync.intervalMs);
    this.syncTimer.unref();
  }

  private append(text: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push(text);
      this.waiters.push({ resolve, reject });
      this.startWriting();
    });
  }

  private startWriting(): void {
    if (this.writing) return;
    const run: Promise<void> = this.writeBatches().finally(() => {
      this.writing = undefined;
      // Lines queued after the loop saw an empty queue, but before this ran.
      if (this.queue.length) this.startWriting();
    });
    this.writing = run;
  }

  /** Group commit: everything queued while the previous batch was being synced goes in one write. */
  private async writeBatches(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0);
      const waiters = this.waiters.splice(0);
      try {
        appendAll(this.handle.fd, batch.join(''));
        if (this.sync.mode === 'each_write') await this.handle.datasync();
        else this.scheduleSync();
        this.linesSinceRewrite += batch.length;
        if (this.linesSinceRewrite >= this.compactAfterLines && this.linesSinceRewrite > 2 * this.live.size) await this.compact();
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
  }

  /**
   * Rewrites the file with the live calls. `live` may already include changes still queued: those
   * lines are appended afterwards and replay to the same state.
   */
  private async compact(): Promise<void> {
    await rewrite(this.path, this.live.values());
    await this.handle.close();
    this.handle = await open(this.path, 'a', 0o600);
    this.linesSinceRewrite = this.live.size;
    this.log.debug({ live: this.live.size }, 'call journal compacted');
  }
}

/** A journal that keeps nothing (journal.enabled: false, and tests that start no journal). */
export const NO_CALL_JOURNAL: CallJournal = {
  leftOver: [],
  record: () => Promise.resolve(),
  forget: () => undefined,
  flushed: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/**
 * The journal `watrunk start` uses, from `journal.*`. A journal that cannot be opened stops the
 * start (running without one would leave calls open after a crash without anybody knowing).
 */
export async function openCallJournal(config: JournalConfig, logger: Logger): Promise<CallJournal | undefined> {
  if (!config.enabled) {
    logger.warn('call journal disabled (journal.enabled: false): calls left open by a crash are not ended by the next start');
    return undefined;
  }
  try {
    return await FileCallJournal.open(config.path, { logger, sync: { mode: config.sync, intervalMs: config.sync_interval_ms } });
  } catch (err) {
    throw new StartupError('journal.path', `cannot open ${config.path} (${(err as Error).message}): make its directory writable, or set journal.enabled: false to run without crash recovery`);
  }
}
