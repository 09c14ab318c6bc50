/**
 * baresip (Debian package baresip-core, 1.0.x) as a headless SIP phone on 127.0.0.1, driven over
 * its ctrl_tcp module. Its SDP carries a=ssrc lines, which SIPp and the Node RTP endpoint do not
 * send: that is what it is here for.
 *
 * Audio without a sound card: the microphone is `aufile` playing a generated tone WAV; the speaker
 * is ALSA's `null` device (accepts and discards samples, needs no hardware; `aufile` cannot be a
 * player in 1.0). What the phone hears is captured by the `sndfile` audio filter, which writes
 * `dump-<time>-dec.wav` (decoded, at the codec's rate: 8 kHz G.711, 16 kHz G.722, 48 kHz stereo
 * Opus) and `-enc.wav` (sent) per call into a private directory.
 *
 * ctrl_tcp speaks netstrings of JSON: `LEN:{"command":"dial","params":"sip:…","token":"t1"},`
 * answered by `{"response":true,"ok":…,"data":…,"token":"t1"}`; events arrive as
 * `{"event":true,"type":"CALL_ESTABLISHED",…}`. Commands are those of the menu module (`help`);
 * in-call ones (hold, resume, …) only exist while a call is up. With answermode=auto, 1.0
 * reports no CALL_INCOMING for the call it answers, only CALL_ESTABLISHED.
 * See https://github.com/baresip/baresip/blob/main/modules/ctrl_tcp/ctrl_tcp.c
 */
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, freeUdpTcpPort } from '../ports.js';
import { freeUdpPortRange, type UdpPortRange } from '../media/free-port.js';
import { sleep, waitFor } from '../media/wait.js';
import { findBinary, spawnLogged, tail, type LoggedProcess } from './process.js';
import {
  PhoneEventLog, withTransport,
  type PhoneEvent, type PhoneEventType, type PhoneTransport, type SoftPhone, type SoftPhoneStartOptions,
} from './softphone.js';
import { readWav, writeToneWav, type RecordedAudio } from './wav.js';

export interface BaresipStartOptions extends SoftPhoneStartOptions {
  /** Send every request via this proxy (account `outbound`), e.g. `sip:127.0.0.1:5070`. */
  outboundProxy?: string;
  /** Log every SIP message (`baresip -s`) into logs(); default true. */
  sipTrace?: boolean;
  /** How long to wait for start-up (default 8 s). */
  startTimeoutMs?: number;
}

/** Modules the harness loads; each must exist in the module directory. */
const REQUIRED_MODULES = ['account', 'menu', 'ctrl_tcp', 'aufile', 'sndfile', 'alsa', 'g711'];
const OPTIONAL_MODULES = ['g722', 'opus'];

/** baresip names codecs name/rate/channels; bare 'G722' would mean G722/8000/1, which is not loaded. */
const CODEC_IDS: Record<string, string> = {
  pcmu: 'PCMU/8000/1',
  pcma: 'PCMA/8000/1',
  g722: 'G722/16000/1',
  opus: 'opus/48000/2',
};

function moduleDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.BARESIP_MODULES,
    '/usr/lib/baresip/modules',
    '/usr/local/lib/baresip/modules',
    '/usr/lib/x86_64-linux-gnu/baresip/modules',
    '/usr/lib/aarch64-linux-gnu/baresip/modules',
  ];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'ctrl_tcp.so')));
}

interface Pending {
  resolve: (data: string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class BaresipPhone implements SoftPhone {
  readonly kind = 'baresip' as const;
  private proc: LoggedProcess | undefined;
  private ctrl: Socket | undefined;
  private ctrlBuf = Buffer.alloc(0);
  private readonly pending = new Map<string, Pending>();
  private tokenSeq = 0;
  private readonly log = new PhoneEventLog();
  private dir: string | undefined;
  /** Its RTP ports: a reserved range like every port a test hands out (port-blocks.ts); by default baresip picks them anywhere in 1024-49152. */
  private rtpPorts: UdpPortRange | undefined;
  private transport: PhoneTransport = 'udp';
  private port = 0;
  private tone = 0;
  private user = 'phone';
  private stopping: Promise<void> | undefined;

  /** The baresip binary (env BARESIP_BIN, else PATH), undefined when absent. */
  static binary(): string | undefined {
    return findBinary('baresip', 'BARESIP_BIN');
  }

  /** Why baresip cannot run here, or undefined when it can. */
  static skipReason(): string | undefined {
    if (!BaresipPhone.binary()) return 'baresip not found (apt-get install baresip-core, or set BARESIP_BIN)';
    const dir = moduleDir();
    if (!dir) return 'baresip modules not found (ctrl_tcp.so; set BARESIP_MODULES)';
    const missing = REQUIRED_MODULES.filter((m) => !existsSync(join(dir, `${m}.so`)));
    if (missing.length) return `baresip modules missing in ${dir}: ${missing.join(', ')}`;
    return undefined;
  }

  static available(): boolean {
    return BaresipPhone.skipReason() === undefined;
  }

  get sipPort(): number { return this.port; }
  get toneHz(): number { return this.tone; }
  get uri(): string { return withTransport(`sip:${this.user}@127.0.0.1:${this.port}`, this.transport); }
  get pid(): number { return this.proc?.pid ?? -1; }

  async start(opts: BaresipStartOptions): Promise<void> {
    if (this.proc) throw new Error('BaresipPhone already started');
    const skip = BaresipPhone.skipReason();
    if (skip) throw new Error(skip);
    const bin = BaresipPhone.binary() as string;
    const mods = moduleDir() as string;
    this.transport = opts.transport ?? 'udp';
    this.tone = opts.toneHz;
    this.user = opts.user ?? 'phone';
    this.dir = await mkdtemp(join(tmpdir(), 'watrunk-baresip-'));
    mkdirSync(join(this.dir, 'rec'));
    writeToneWav(join(this.dir, 'tone.wav'), { hz: opts.toneHz, seconds: opts.toneSeconds ?? 60 });
    writeFileSync(join(this.dir, 'accounts'), `${this.accountLine(opts)}\n`);
    this.rtpPorts = await freeUdpPortRange(20);

    // Ports picked here are only "free a moment ago": retry with fresh ones if baresip cannot bind.
    const attempts = opts.sipPort === undefined ? 3 : 1;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      // baresip's sip_listen binds UDP and TCP on the same port, and TLS on the next one (freeUdpTcpPort keeps both free).
      this.port = opts.sipPort ?? (await freeUdpTcpPort());
      const ctrlPort = await freeTcpPort();
      writeFileSync(join(this.dir, 'config'), this.configText(mods, ctrlPort));
      const args = ['-f', this.dir, ...(opts.sipTrace === false ? [] : ['-s'])];
      const proc = spawnLogged(bin, args, { cwd: this.dir, env: { ...process.env, HOME: this.dir } });
      this.proc = proc;
      try {
        await waitFor('baresip ready', () => {
          const st = proc.exitStatus();
          if (st) throw new Error(`baresip exited during start-up (code ${st.code}, signal ${st.signal})`);
          return proc.logs().includes('baresip is ready.');
        }, { timeoutMs: opts.startTimeoutMs ?? 8_000, intervalMs: 25 });
        await this.connectCtrl(ctrlPort, opts.startTimeoutMs ?? 8_000);
        return;
      } catch (e) {
        lastError = new Error(`${(e as Error).message}\n--- baresip output ---\n${tail(proc.logs())}`);
        this.ctrl?.destroy();
        this.ctrl = undefined;
        await proc.stop(1_000);
        this.proc = undefined;
      }
    }
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    this.dir = undefined;
    this.rtpPorts.release();
    throw lastError ?? new Error('baresip did not start');
  }

  private accountLine(opts: BaresipStartOptions): string {
    const params = ['regint=0', `answermode=${opts.autoAnswer ? 'auto' : 'manual'}`];
    if (opts.codecs?.length) {
      params.push(`audio_codecs=${opts.codecs.map((c) => CODEC_IDS[c.toLowerCase()] ?? c).join(',')}`);
    }
    if (opts.outboundProxy) params.push(`outbound="${opts.outboundProxy}"`);
    const uriParams = this.transport === 'tcp' ? ';transport=tcp' : '';
    return `<sip:${this.user}@127.0.0.1${uriParams}>;${params.join(';')}`;
  }

  private configText(mods: string, ctrlPort: number): string {
    const dir = this.dir as string;
    const optional = OPTIONAL_MODULES.filter((m) => existsSync(join(mods, `${m}.so`)));
    return [
      'poll_method\t\tepoll',
      `sip_listen\t\t127.0.0.1:${this.port}`,
      `rtp_ports\t\t${this.rtpPorts!.min}-${this.rtpPorts!.max}`,
      // An address, not an interface name: 'lo' is rejected by 1.0.
      'net_interface\t\t127.0.0.1',
      'call_local_timeout\t120',
      'call_max_calls\t\t4',
      `audio_source\t\taufile,${join(dir, 'tone.wav')}`,
      'audio_player\t\talsa,null',
      'audio_alert\t\talsa,null',
      // The tone file is 8 kHz mono; baresip resamples to G.722/Opus rates itself.
      'ausrc_srate\t\t8000',
      'ausrc_channels\t\t1',
      'auplay_srate\t\t8000',
      'auplay_channels\t\t1',
      'audio_buffer\t\t20-160',
      'rtcp_mux\t\tno',
      'jitter_buffer_delay\t5-10',
      `module_path\t\t${mods}`,
      'module\t\t\tg711.so',
      ...optional.map((m) => `module\t\t\t${m}.so`),
      'module\t\t\tsndfile.so',
      'module\t\t\taufile.so',
      'module\t\t\talsa.so',
      'module_tmp\t\taccount.so',
      'module_app\t\tmenu.so',
      'module_app\t\tctrl_tcp.so',
      `ctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}`,
      `snd_path\t\t${join(dir, 'rec')}`,
      '',
    ].join('\n');
  }

  private async connectCtrl(port: number, timeoutMs: number): Promise<void> {
    this.ctrl = await waitFor('baresip ctrl_tcp connection', async () => {
      const st = this.proc?.exitStatus();
      if (st) throw new Error(`baresip exited (code ${st.code}) before ctrl_tcp accepted a connection`);
      return new Promise<Socket | undefined>((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
        s.once('error', () => { s.destroy(); resolve(undefined); });
      });
    }, { timeoutMs, intervalMs: 50 });
    this.ctrl.on('data', (b: Buffer) => this.onCtrlData(b));
    this.ctrl.on('error', () => { /* reported through pending commands and exit status */ });
    this.ctrl.on('close', () => {
      for (const [token, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`baresip ctrl_tcp closed before answering ${token}`));
      }
      this.pending.clear();
    });
  }

  private onCtrlData(chunk: Buffer): void {
    this.ctrlBuf = Buffer.concat([this.ctrlBuf, chunk]);
    for (;;) {
      const colon = this.ctrlBuf.indexOf(0x3a); // ':'
      if (colon < 0) return;
      const len = Number(this.ctrlBuf.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(len) || len < 0) {
        // Out of step with the stream: drop it rather than misparse forever.
        this.ctrlBuf = Buffer.alloc(0);
        return;
      }
      const end = colon + 1 + len;
      if (this.ctrlBuf.length < end + 1) return;
      const payload = this.ctrlBuf.subarray(colon + 1, end).toString('utf8');
      this.ctrlBuf = this.ctrlBuf.subarray(end + 1); // skip the ',' terminator
      let msg: Record<string, unknown>;
      try { msg = JSON.parse(payload) as Record<string, unknown>; } catch { continue; }
      if (msg.event === true && typeof msg.type === 'string') {
        const ev: PhoneEvent = { type: msg.type, at: Date.now(), raw: msg };
        if (typeof msg.peeruri === 'string') ev.peerUri = msg.peeruri;
        if (typeof msg.param === 'string') ev.param = msg.param;
        this.log.push(ev);
      } else if (msg.response === true && typeof msg.token === 'string') {
        const p = this.pending.get(msg.token);
        if (!p) continue;
        this.pending.delete(msg.token);
        clearTimeout(p.timer);
        const data = typeof msg.data === 'string' ? msg.data : '';
        if (msg.ok === true) p.resolve(data);
        else p.reject(new Error(`baresip command failed: ${data || 'no detail'}`));
      }
    }
  }

  /** Runs a menu command by its long name (see `help`); resolves with its text output. */
  command(command: string, params = '', timeoutMs = 5_000): Promise<string> {
    const ctrl = this.ctrl;
    if (!ctrl || ctrl.destroyed) return Promise.reject(new Error(`baresip not running (command ${command})`));
    const token = `t${++this.tokenSeq}`;
    const body = Buffer.from(JSON.stringify({ command, params, token }), 'utf8');
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip command ${command} ${params}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
      ctrl.write(Buffer.concat([Buffer.from(`${body.length}:`, 'ascii'), body, Buffer.from(',', 'ascii')]));
    });
  }

  async dial(uri: string): Promise<void> {
    await this.command('dial', withTransport(uri, this.transport));
  }

  async answer(): Promise<void> {
    await this.command('accept');
  }

  async hangup(): Promise<void> {
    await this.command('hangup');
  }

  /** re-INVITE with a=sendonly (baresip 1.0 `hold`). */
  async hold(): Promise<void> {
    await this.command('hold');
  }

  /** re-INVITE with a=sendrecv. */
  async resume(): Promise<void> {
    await this.command('resume');
  }

  waitForEvent(type: PhoneEventType, timeoutMs: number): Promise<PhoneEvent> {
    return this.log.next(type, timeoutMs, `baresip :${this.port}`, () => {
      const st = this.proc?.exitStatus();
      return st ? `baresip exited (code ${st.code}, signal ${st.signal})` : undefined;
    });
  }

  events(): readonly PhoneEvent[] {
    return this.log.all();
  }

  /** Newest recording whose name ends in `suffix`, if any. */
  private newestRecording(suffix: string): string | undefined {
    if (!this.dir) return undefined;
    const rec = join(this.dir, 'rec');
    const files = readdirSync(rec).filter((f) => f.endsWith(suffix)).map((f) => join(rec, f));
    files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
    return files.at(-1);
  }

  private async recording(suffix: string): Promise<RecordedAudio> {
    // sndfile opens the file when the audio stream starts; give it a moment after CALL_ESTABLISHED.
    const file = await waitFor(`baresip :${this.port} recording *${suffix}`, () => this.newestRecording(suffix), { timeoutMs: 2_000, intervalMs: 50 });
    return readWav(file);
  }

  async receivedAudio(): Promise<RecordedAudio> {
    return this.recording('-dec.wav');
  }

  /** What the phone encoded and sent (its own tone), for comparison. */
  async sentAudio(): Promise<RecordedAudio> {
    return this.recording('-enc.wav');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc?.signal(signal);
  }

  logs(): string {
    return this.proc?.logs() ?? '';
  }

  /** SIP messages baresip logged (needs sipTrace), e.g. to look for Record-Route. */
  sipTrace(): string {
    // The trace is coloured with ANSI escapes.
    return this.logs().replace(/\x1b\[[0-9;]*m/g, '');
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      if (this.ctrl && !this.ctrl.destroyed && !this.proc?.exitStatus()) {
        // quit ends calls with BYE; SIGTERM follows if baresip lingers.
        await this.command('quit', '', 1_000).catch(() => undefined);
        await Promise.race([this.proc?.exited, sleep(2_000)]);
      }
      this.ctrl?.destroy();
      await this.proc?.stop(2_000);
      if (this.dir) await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      this.dir = undefined;
      this.rtpPorts?.release();
    })());
  }
}
