/**
 * linphonec (Debian package linphone-cli, liblinphone 5.1) as a headless SIP phone on 127.0.0.1,
 * driven through its stdin one command at a time (it keeps a single pending input line, so
 * commands written back to back can be lost; each waits for the next `linphonec> ` prompt).
 *
 * Set-up that matters with this version:
 *  - HOME is a private dir with `.local/share/linphone` present: without its database the core
 *    never reaches GlobalOn, binds no SIP port from the rc file and answers INVITEs with 503.
 *  - `[rtp] bind_address=127.0.0.1` is what puts 127.0.0.1 in the SDP (otherwise the address of
 *    the default route, possibly IPv6); `[sip] bind_address` does the same for SIP.
 *  - Audio: `soundcard use files`, then `play <wav>` (microphone) and `record <wav>` (speaker);
 *    the recording is at the negotiated codec's rate (48 kHz for Opus), and its WAV header is
 *    only written when the call ends.
 *  - Codec restriction: `codec list` / `codec enable|disable <index>`; liblinphone keeps its own
 *    preference order, which cannot be changed from linphonec.
 * Events are linphonec's status lines mapped onto the shared names (see LINE_EVENTS); it also
 * reports CALL_OUTGOING, CALL_STREAMS_RUNNING (also after resume), CALL_HOLD (own pause done),
 * CALL_REMOTE_HOLD and CALL_RESUMING.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpTcpPort } from '../ports.js';
import { freeUdpPortRange } from '../media/free-port.js';
import { sleep, waitFor } from '../media/wait.js';
import { findBinary, portBound, spawnLogged, tail, type LoggedProcess } from './process.js';
import {
  PhoneEventLog, withTransport,
  type PhoneEvent, type PhoneEventType, type PhoneTransport, type SoftPhone, type SoftPhoneStartOptions,
} from './softphone.js';
import { parsePcm, parseWav, writeToneWav, type RecordedAudio } from './wav.js';

export interface LinphoneStartOptions extends SoftPhoneStartOptions {
  /**
   * liblinphone log level written to linphone.log in the phone's dir (default 5). Keep it at 5 or
   * more: receivedAudio() reads the recorder's format from that log during a call.
   */
  logLevel?: number;
  /** How long to wait for start-up (default 8 s). */
  startTimeoutMs?: number;
}

const PROMPT = 'linphonec> ';

/** linphonec status lines (console/linphonec.c) → event type; group 1 is the peer when named. */
const LINE_EVENTS: { re: RegExp; type: string; param?: (m: RegExpExecArray) => string }[] = [
  { re: /Receiving new incoming call from (\S+), assigned id \d+/, type: 'CALL_INCOMING' },
  { re: /Call \d+ to (\S+) in progress\./, type: 'CALL_OUTGOING' },
  { re: /Call \d+ to (\S+) ringing\./, type: 'CALL_RINGING' },
  { re: /Call \d+ with (\S+) early media\./, type: 'CALL_PROGRESS' },
  { re: /Call \d+ with (\S+) connected\./, type: 'CALL_ESTABLISHED' },
  { re: /Media streams established with (\S+) for call \d+/, type: 'CALL_STREAMS_RUNNING' },
  { re: /Call \d+ with (\S+) ended \((.*)\)\./, type: 'CALL_CLOSED', param: (m) => m[2] ?? '' },
  { re: /Call \d+ with (\S+) error\./, type: 'CALL_CLOSED', param: () => 'error' },
  { re: /Call \d+ with (\S+) is now paused\./, type: 'CALL_HOLD' },
  { re: /Call \d+ has been paused by (\S+)\./, type: 'CALL_REMOTE_HOLD' },
  { re: /Resuming call \d+ with (\S+)\./, type: 'CALL_RESUMING' },
];

export class LinphonePhone implements SoftPhone {
  readonly kind = 'linphone' as const;
  private proc: LoggedProcess | undefined;
  private readonly log = new PhoneEventLog();
  private dir: string | undefined;
  private transport: PhoneTransport = 'udp';
  private port = 0;
  private tone = 0;
  private user = 'phone';
  private out = '';
  private outDropped = 0;
  private lineBuf = '';
  private queue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  /** The linphonec binary (env LINPHONEC_BIN, else PATH), undefined when absent. */
  static binary(): string | undefined {
    return findBinary('linphonec', 'LINPHONEC_BIN');
  }

  static skipReason(): string | undefined {
    return LinphonePhone.binary() ? undefined : 'linphonec not found (apt-get install linphone-cli, or set LINPHONEC_BIN)';
  }

  static available(): boolean {
    return LinphonePhone.skipReason() === undefined;
  }

  get sipPort(): number { return this.port; }
  get toneHz(): number { return this.tone; }
  get uri(): string { return withTransport(`sip:${this.user}@127.0.0.1:${this.port}`, this.transport); }
  get pid(): number { return this.proc?.pid ?? -1; }

  async start(opts: LinphoneStartOptions): Promise<void> {
    if (this.proc) throw new Error('LinphonePhone already started');
    const bin = LinphonePhone.binary();
    if (!bin) throw new Error(LinphonePhone.skipReason());
    this.transport = opts.transport ?? 'udp';
    this.tone = opts.toneHz;
    this.user = opts.user ?? 'phone';
    const dir = await mkdtemp(join(tmpdir(), 'watrunk-linphone-'));
    this.dir = dir;
    mkdirSync(join(dir, '.local', 'share', 'linphone'), { recursive: true });
    mkdirSync(join(dir, '.config'), { recursive: true });
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    writeToneWav(join(dir, 'tone.wav'), { hz: opts.toneHz, seconds: opts.toneSeconds ?? 60 });

    const timeoutMs = opts.startTimeoutMs ?? 8_000;
    const attempts = opts.sipPort === undefined ? 3 : 1;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      this.port = opts.sipPort ?? (await freeUdpTcpPort());
      const rtp = await freeUdpPortRange(10);
      writeFileSync(join(dir, 'linphonerc'), this.rcText(rtp.min));
      const args = ['-c', join(dir, 'linphonerc'), '-d', String(opts.logLevel ?? 5), '-l', join(dir, 'linphone.log')];
      if (opts.autoAnswer) args.push('-a');
      this.out = '';
      this.outDropped = 0;
      this.lineBuf = '';
      const proc = spawnLogged(bin, args, {
        cwd: dir,
        stdio: ['pipe', 'pipe', 'pipe'],
        // Everything it writes stays in the private dir (its PulseAudio probe would otherwise
        // leave a pulse-* directory in /tmp on every start).
        env: {
          ...process.env,
          HOME: dir,
          XDG_CONFIG_HOME: join(dir, '.config'),
          XDG_DATA_HOME: join(dir, '.local', 'share'),
          XDG_RUNTIME_DIR: join(dir, 'run'),
        },
      });
      this.proc = proc;
      proc.onOutput((text) => this.onOutput(text));
      try {
        await waitFor('linphonec prompt', () => {
          const st = proc.exitStatus();
          if (st) throw new Error(`linphonec exited during start-up (code ${st.code}, signal ${st.signal})`);
          return this.out.includes(PROMPT);
        }, { timeoutMs, intervalMs: 25 });
        await waitFor(`linphonec bound SIP ${this.transport} port ${this.port}`, () => {
          if (proc.exitStatus()) throw new Error('linphonec exited during start-up');
          return portBound(this.port, this.transport) !== false;
        }, { timeoutMs, intervalMs: 50 });
        await this.command('soundcard use files', /Using wav files/);
        await this.command(`play ${join(dir, 'tone.wav')}`);
        await this.command(`record ${join(dir, 'received.wav')}`);
        if (opts.codecs?.length) await this.restrictCodecs(opts.codecs);
        return;
      } catch (e) {
        lastError = new Error(`${(e as Error).message}\n--- linphonec output ---\n${tail(proc.logs())}`);
        await proc.stop(1_000);
        this.proc = undefined;
      }
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    this.dir = undefined;
    throw lastError ?? new Error('linphonec did not start');
  }

  private rcText(rtpPort: number): string {
    // Only the chosen transport listens; 0 switches one off.
    const udp = this.transport === 'udp' ? this.port : 0;
    const tcp = this.transport === 'tcp' ? this.port : 0;
    return [
      '[sip]',
      `sip_port=${udp}`,
      `sip_tcp_port=${tcp}`,
      'sip_tls_port=0',
      'bind_address=127.0.0.1',
      `contact=sip:${this.user}@127.0.0.1`,
      'guess_hostname=0',
      'register_only_when_network_is_up=0',
      'inc_timeout=60',
      '[rtp]',
      `audio_rtp_port=${rtpPort}`,
      'bind_address=127.0.0.1',
      'audio_jitt_comp=60',
      '[sound]',
      'echocancellation=0',
      '[video]',
      'enabled=0',
      'capture=0',
      'display=0',
      '',
    ].join('\n');
  }

  private onOutput(text: string): void {
    this.out += text;
    if (this.out.length > 1_000_000) {
      this.outDropped += this.out.length - 500_000;
      this.out = this.out.slice(-500_000);
    }
    this.lineBuf += text;
    const lines = this.lineBuf.split('\n');
    this.lineBuf = lines.pop() ?? '';
    for (const line of lines) {
      for (const { re, type, param } of LINE_EVENTS) {
        const m = re.exec(line);
        if (!m) continue;
        const ev: PhoneEvent = { type, at: Date.now(), raw: line };
        if (m[1]) ev.peerUri = m[1];
        if (param) ev.param = param(m);
        this.log.push(ev);
        break;
      }
    }
  }

  private outputSince(mark: number): string {
    return this.out.slice(Math.max(0, mark - this.outDropped));
  }

  /**
   * Runs one linphonec command and resolves with its output once `expect` (when given) has
   * appeared and a fresh prompt follows. Commands are serialised.
   */
  command(cmd: string, expect?: RegExp, timeoutMs = 5_000): Promise<string> {
    const run = async (): Promise<string> => {
      const proc = this.proc;
      const stdin = proc?.child.stdin;
      if (!proc || !stdin || stdin.destroyed || proc.exitStatus()) throw new Error(`linphonec not running (command ${cmd})`);
      const mark = this.outDropped + this.out.length;
      stdin.write(`${cmd}\n`);
      return waitFor(`linphonec '${cmd}'${expect ? ` → ${String(expect)}` : ''}`, () => {
        const since = this.outputSince(mark);
        if (proc.exitStatus()) throw new Error(`linphonec exited during '${cmd}':\n${tail(since, 2_000)}`);
        const at = expect ? since.search(expect) : 0;
        if (at < 0) return undefined;
        // The prompt comes after the command's own output.
        return since.indexOf(PROMPT, at) >= 0 ? since : undefined;
      }, { timeoutMs, intervalMs: 20 });
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async restrictCodecs(codecs: string[]): Promise<void> {
    const wanted = new Set(codecs.map((c) => c.toLowerCase()));
    const list = await this.command('codec list', /^\s*\d+: /m);
    const rows = [...list.matchAll(/^\s*(\d+): (\S+) \((\d+)\) (enabled|disabled)/gm)];
    const found = new Set<string>();
    for (const [, idx, mime, , state] of rows) {
      const want = wanted.has((mime ?? '').toLowerCase());
      if (want) found.add((mime ?? '').toLowerCase());
      if (want && state === 'disabled') await this.command(`codec enable ${idx}`, /enabled/);
      if (!want && state === 'enabled') await this.command(`codec disable ${idx}`, /disabled/);
    }
    const missing = [...wanted].filter((c) => !found.has(c));
    if (missing.length) throw new Error(`linphonec has no codec ${missing.join(', ')} (has: ${rows.map((r) => r[2]).join(', ')})`);
  }

  async dial(uri: string): Promise<void> {
    const out = await this.command(`call ${withTransport(uri, this.transport)}`, /assigned id \d+|Error|error/);
    if (!/assigned id \d+/.test(out)) throw new Error(`linphonec could not call ${uri}:\n${tail(out, 1_000)}`);
  }

  async answer(): Promise<void> {
    const out = await this.command('answer', /connected|no calls to answer|Syntax|error/i);
    if (/no calls to answer/i.test(out)) throw new Error('linphonec: no call to answer');
  }

  /** `terminate`: BYE (or CANCEL while ringing out). */
  async hangup(): Promise<void> {
    await this.command('terminate', /ended|No active call/);
  }

  /** `pause`: re-INVITE with a=sendonly. */
  async hold(): Promise<void> {
    const out = await this.command('pause', /Pausing call|only pause|Syntax/);
    if (!/Pausing call/.test(out)) throw new Error(`linphonec could not pause:\n${tail(out, 1_000)}`);
  }

  async resume(): Promise<void> {
    const out = await this.command('resume', /Resuming call|no calls|not|Syntax/i);
    if (!/Resuming call/.test(out)) throw new Error(`linphonec could not resume:\n${tail(out, 1_000)}`);
  }

  waitForEvent(type: PhoneEventType, timeoutMs: number): Promise<PhoneEvent> {
    return this.log.next(type, timeoutMs, `linphonec :${this.port}`, () => {
      const st = this.proc?.exitStatus();
      return st ? `linphonec exited (code ${st.code}, signal ${st.signal})` : undefined;
    });
  }

  events(): readonly PhoneEvent[] {
    return this.log.all();
  }

  /**
   * mediastreamer's recorder writes the WAV header only when the call ends (44 zero bytes until
   * then), so during a call the format comes from liblinphone's log line configuring the recorder.
   */
  async receivedAudio(): Promise<RecordedAudio> {
    const dir = this.dir;
    if (!dir) throw new Error('linphonec phone not started (or already stopped)');
    return waitFor('linphonec recording', () => {
      let buf: Buffer;
      try { buf = readFileSync(join(dir, 'received.wav')); } catch { return undefined; }
      if (buf.length >= 44 && buf.toString('ascii', 0, 4) === 'RIFF') return parseWav(buf);
      let log: string;
      try { log = readFileSync(join(dir, 'linphone.log'), 'utf8'); } catch { return undefined; }
      const formats = [...log.matchAll(/-->MSFileRec:\S+ from rate \[\d+\] to rate \[(\d+)\] and from channel \[\d+\] to channel \[(\d+)\]/g)];
      const last = formats.at(-1);
      if (!last) return undefined;
      return parsePcm(buf, 44, Number(last[1]), Number(last[2]));
    }, { timeoutMs: 3_000, intervalMs: 50 });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc?.signal(signal);
  }

  /** linphonec's console output; liblinphone's own log (SIP included) is linphoneLog(). */
  logs(): string {
    return this.proc?.logs() ?? '';
  }

  /** liblinphone's log file (SIP messages at the default level). */
  async linphoneLog(): Promise<string> {
    if (!this.dir) return '';
    return readFile(join(this.dir, 'linphone.log'), 'utf8').catch(() => '');
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      const proc = this.proc;
      if (proc && !proc.exitStatus()) {
        // quit terminates calls (BYE) first; SIGTERM does the same, SIGKILL if it hangs.
        try { proc.child.stdin?.write('quit\n'); } catch { /* pipe gone */ }
        await Promise.race([proc.exited, sleep(2_000)]);
      }
      await proc?.stop(2_000);
      if (this.dir) await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      this.dir = undefined;
    })());
  }
}
