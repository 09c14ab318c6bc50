import { createHash } from 'node:crypto';

/**
 * Deterministic randomness and the ids Meta hands out. Everything random in the simulator comes from
 * a seeded generator, so the same seed and the same inputs give the same run.
 */

/** mulberry32: small, fast, good enough for test traffic. Returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = '0123456789ABCDEF';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function field(tag: number[], text: string): number[] {
  const bytes = [...Buffer.from(text.slice(0, 255), 'utf8')];
  return [...tag, bytes.length, ...bytes];
}

/** base64 with `-`/`_` like Meta's ids (docs/whatsapp-calling.md#user-identities: base64-like, may contain "-", "_" and "=" padding). */
function metaBase64(bytes: number[]): string {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export class IdFactory {
  private random: () => number;
  constructor(private readonly seed: number) {
    this.random = seededRandom(seed);
  }

  reset(): void {
    this.random = seededRandom(this.seed);
  }

  private chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.random() * alphabet.length)];
    return s;
  }

  /**
   * A call id shaped like Meta's: `wacid.` + base64 of a small tagged record holding the user's number,
   * 32 hex digits and the business number (the layout seen in Meta's sample ids).
   */
  wacid(user: string, business: string): string {
    const bytes = [
      ...field([0x1c, 0x18], user), 0x15, 0x02, 0x00, 0x12,
      ...field([0x18], this.chars(HEX, 32)),
      ...field([0x1c, 0x18], business), 0x15, 0x02, 0x00, 0x00,
    ];
    return `wacid.${metaBase64(bytes)}`;
  }

  /** A message id shaped like Meta's `wamid.HBgL…`. */
  wamid(user: string): string {
    const bytes = [...field([0x1c, 0x18], user), 0x15, 0x02, 0x00, 0x11, ...field([0x18], this.chars(HEX, 18)), 0x00];
    return `wamid.${metaBase64(bytes)}`;
  }

  /** Graph's fbtrace_id: an opaque support reference. */
  fbtraceId(): string {
    return this.chars(ALNUM, 23);
  }
}

/** Leading country calling code → ISO country, for the few prefixes demos use; others get "ZZ". */
const COUNTRY_BY_PREFIX: Array<[string, string]> = [
  ['1', 'US'], ['44', 'GB'], ['49', 'DE'], ['33', 'FR'], ['34', 'ES'], ['39', 'IT'], ['55', 'BR'],
  ['52', 'MX'], ['91', 'IN'], ['62', 'ID'], ['234', 'NG'], ['27', 'ZA'], ['61', 'AU'],
];

export function countryOf(number: string): string {
  const hit = COUNTRY_BY_PREFIX.filter(([p]) => number.startsWith(p)).sort((a, b) => b[0].length - a[0].length)[0];
  return hit ? hit[1] : 'ZZ';
}

/** A stable BSUID for a number (docs/whatsapp-calling.md#user-identities: "US.13491208655302741918"), scoped by the random seed (`seed` in the simulator config). */
export function derivedBsuid(number: string, seed: number): string {
  const hex = createHash('sha256').update(`${seed}|${number}`).digest('hex');
  const digitsOnly = BigInt(`0x${hex.slice(0, 16)}`).toString().padStart(20, '0').slice(0, 20);
  return `${countryOf(number)}.${digitsOnly}`;
}
