/**
 * ITU-T G.722 at 64 kbit/s (mode 1: 6 bits lower band + 2 bits upper band per byte), ported from
 * Steve Underwood's public-domain spandsp g722_encode.c / g722_decode.c, itself based on the CMU
 * 1993 code by Chengxiang Lu and Alex Hauptmann. A 24-tap QMF splits 16 kHz PCM into two 8 kHz
 * sub-bands, each coded with backward-adaptive ADPCM (blocks numbered as in G.722 §6).
 * https://www.itu.int/rec/T-REC-G.722
 *
 * In RTP, G.722 samples at 16 kHz but its clock is 8000 (https://www.rfc-editor.org/rfc/rfc3551#section-4.5.2):
 * 20 ms = 320 samples = 160 bytes, timestamp +160.
 */

const QMF_COEFFS = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
/** Lower-band quantiser decision levels (QUANTL), and the 6-bit codes for negative/positive errors. */
const Q6 = [0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
  786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0];
const ILN = [0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
  18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0];
const ILP = [0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
  46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0];
/** Lower-band log-scale factor adaptation (LOGSCL) and the 4-bit → index map. */
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/** Inverse log base 2 table (SCALEL/SCALEH). */
const ILB = [2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
  2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008];
/** Inverse quantisers: 4-bit (predictor update) and 6-bit (lower-band output) levels. */
const QM4 = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
  24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/** Upper band: 2-bit inverse quantiser, log-scale adaptation, and code maps. */
const QM2 = [-7408, -1616, 7408, 1616];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];

const sat16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

/** Adaptive predictor state of one sub-band. */
class Band {
  s = 0; sp = 0; sz = 0;
  r = [0, 0, 0]; a = [0, 0, 0]; ap = [0, 0, 0]; p = [0, 0, 0];
  d = [0, 0, 0, 0, 0, 0, 0]; b = [0, 0, 0, 0, 0, 0, 0]; bp = [0, 0, 0, 0, 0, 0, 0]; sg = [0, 0, 0, 0, 0, 0, 0];
  nb = 0;
  constructor(public det: number) {}

  /** Block 3 (SCALEL/SCALEH): quantiser scale from the log scale factor. */
  scale(shiftBase: number): void {
    const wd1 = (this.nb >> 6) & 31;
    const wd2 = shiftBase - (this.nb >> 11);
    const wd3 = wd2 < 0 ? ILB[wd1]! << -wd2 : ILB[wd1]! >> wd2;
    this.det = wd3 << 2;
  }

  /** Block 4: reconstruct, update the pole (a) and zero (b) predictor coefficients, predict. */
  update(d: number): void {
    const { r, a, ap, p, b, bp, sg } = this;
    this.d[0] = d;
    r[0] = sat16(this.s + d); // RECONS
    p[0] = sat16(this.sz + d); // PARREC
    // UPPOL2
    for (let i = 0; i < 3; i++) sg[i] = p[i]! >> 15;
    let wd1 = sat16(a[1]! << 2);
    let wd2 = sg[0] === sg[1] ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (wd2 >> 7) + (sg[0] === sg[2] ? 128 : -128) + ((a[2]! * 32512) >> 15);
    ap[2] = Math.max(-12288, Math.min(12288, wd3));
    // UPPOL1
    sg[0] = p[0]! >> 15;
    sg[1] = p[1]! >> 15;
    wd1 = sg[0] === sg[1] ? 192 : -192;
    wd2 = (a[1]! * 32640) >> 15;
    ap[1] = sat16(wd1 + wd2);
    wd3 = sat16(15360 - ap[2]!);
    if (ap[1]! > wd3) ap[1] = wd3;
    else if (ap[1]! < -wd3) ap[1] = -wd3;
    // UPZERO
    wd1 = d === 0 ? 0 : 128;
    sg[0] = d >> 15;
    for (let i = 1; i < 7; i++) {
      sg[i] = this.d[i]! >> 15;
      wd2 = sg[i] === sg[0] ? wd1 : -wd1;
      wd3 = (b[i]! * 32640) >> 15;
      bp[i] = sat16(wd2 + wd3);
    }
    // DELAYA
    for (let i = 6; i > 0; i--) {
      this.d[i] = this.d[i - 1]!;
      b[i] = bp[i]!;
    }
    for (let i = 2; i > 0; i--) {
      r[i] = r[i - 1]!;
      p[i] = p[i - 1]!;
      a[i] = ap[i]!;
    }
    // FILTEP
    wd1 = (a[1]! * sat16(r[1]! + r[1]!)) >> 15;
    wd2 = (a[2]! * sat16(r[2]! + r[2]!)) >> 15;
    this.sp = sat16(wd1 + wd2);
    // FILTEZ
    let sz = 0;
    for (let i = 6; i > 0; i--) sz += (b[i]! * sat16(this.d[i]! + this.d[i]!)) >> 15;
    this.sz = sat16(sz);
    // PREDIC
    this.s = sat16(this.sp + this.sz);
  }
}

/** Block 3L LOGSCL / 3H LOGSCH: leaky log scale factor. */
function adaptNb(band: Band, step: number, max: number): void {
  const nb = ((band.nb * 127) >> 7) + step;
  band.nb = nb < 0 ? 0 : nb > max ? max : nb;
}

/** G.722 encoder, 64 kbit/s: 2 samples of 16 kHz PCM → 1 byte. State carries across calls. */
export class G722Encoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private readonly x = new Int32Array(24);
  private pending?: number; // odd sample left over from the previous call

  encode(pcm16k: Int16Array): Buffer {
    const samples = this.pending === undefined ? Array.from(pcm16k) : [this.pending, ...pcm16k];
    this.pending = samples.length % 2 === 1 ? samples.pop() : undefined;
    const out = Buffer.alloc(samples.length / 2);
    const x = this.x;
    for (let j = 0, n = 0; j < samples.length; j += 2, n++) {
      // Transmit QMF: shift in two samples, keep every other output.
      x.copyWithin(0, 2);
      x[22] = samples[j]!;
      x[23] = samples[j + 1]!;
      let sumOdd = 0;
      let sumEven = 0;
      for (let i = 0; i < 12; i++) {
        sumOdd += x[2 * i]! * QMF_COEFFS[i]!;
        sumEven += x[2 * i + 1]! * QMF_COEFFS[11 - i]!;
      }
      // >> 14 (not 13) halves the level so full-scale 16-bit input stays inside the ADPCM's
      // ±16383 range; the decoder's >> 11 restores it (as later spandsp and libavcodec do).
      const xlow = (sumEven + sumOdd) >> 14;
      const xhigh = (sumEven - sumOdd) >> 14;
      out[n] = (this.encodeHigh(xhigh) << 6) | this.encodeLow(xlow);
    }
    return out;
  }

  private encodeLow(xlow: number): number {
    const band = this.low;
    const el = sat16(xlow - band.s); // 1L SUBTRA
    const wd = el >= 0 ? el : -(el + 1); // 1L QUANTL
    let i = 1;
    for (; i < 30; i++) if (wd < (Q6[i]! * band.det) >> 12) break;
    const ilow = el < 0 ? ILN[i]! : ILP[i]!;
    const ril = ilow >> 2; // 2L INVQAL
    const dlow = (band.det * QM4[ril]!) >> 15;
    adaptNb(band, WL[RL42[ril]!]!, 18432);
    band.scale(8);
    band.update(dlow);
    return ilow;
  }

  private encodeHigh(xhigh: number): number {
    const band = this.high;
    const eh = sat16(xhigh - band.s); // 1H SUBTRA
    const wd = eh >= 0 ? eh : -(eh + 1); // 1H QUANTH
    const mih = wd >= (564 * band.det) >> 12 ? 2 : 1;
    const ihigh = eh < 0 ? IHN[mih]! : IHP[mih]!;
    const dhigh = (band.det * QM2[ihigh]!) >> 15; // 2H INVQAH
    adaptNb(band, WH[RH2[ihigh]!]!, 22528);
    band.scale(10);
    band.update(dhigh);
    return ihigh;
  }
}

/** G.722 decoder, 64 kbit/s: 1 byte → 2 samples of 16 kHz PCM. State carries across calls. */
export class G722Decoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private readonly x = new Int32Array(24);

  decode(data: Buffer): Int16Array {
    const out = new Int16Array(data.length * 2);
    const x = this.x;
    for (let j = 0; j < data.length; j++) {
      const code = data[j]!;
      const rlow = this.decodeLow(code & 0x3f);
      const rhigh = this.decodeHigh((code >> 6) & 0x03);
      // Receive QMF.
      x.copyWithin(0, 2);
      x[22] = rlow + rhigh;
      x[23] = rlow - rhigh;
      let xout1 = 0;
      let xout2 = 0;
      for (let i = 0; i < 12; i++) {
        xout2 += x[2 * i]! * QMF_COEFFS[i]!;
        xout1 += x[2 * i + 1]! * QMF_COEFFS[11 - i]!;
      }
      out[2 * j] = sat16(xout1 >> 11);
      out[2 * j + 1] = sat16(xout2 >> 11);
    }
    return out;
  }

  private decodeLow(ilow: number): number {
    const band = this.low;
    // 5L INVQBL + RECONS + 6L LIMIT: the output uses all 6 bits...
    const rlow = Math.max(-16384, Math.min(16383, band.s + ((band.det * QM6[ilow]!) >> 15)));
    // ...the predictor only the top 4 (2L INVQAL), exactly as the encoder saw it.
    const ril = ilow >> 2;
    const dlow = (band.det * QM4[ril]!) >> 15;
    adaptNb(band, WL[RL42[ril]!]!, 18432);
    band.scale(8);
    band.update(dlow);
    return rlow;
  }

  private decodeHigh(ihigh: number): number {
    const band = this.high;
    const dhigh = (band.det * QM2[ihigh]!) >> 15; // 2H INVQAH
    const rhigh = Math.max(-16384, Math.min(16383, dhigh + band.s)); // 5H RECONS, 6H LIMIT
    adaptNb(band, WH[RH2[ihigh]!]!, 22528);
    band.scale(10);
    band.update(dhigh);
    return rhigh;
  }
}
