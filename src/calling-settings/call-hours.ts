/**
 * Validation of the `calling.call_hours` settings object, with Meta's own error texts
 * (docs/whatsapp-calling.md#settings). Pure and framework-free: the simulator uses it
 * to answer `POST /settings` like Meta, and `watrunk settings` uses it to check a file before sending.
 *
 * Meta's doc page renders the field names in these texts as code; the texts below are the plain
 * strings (no backticks). The 20-holiday limit has no documented text; ours is marked as such.
 */

export const CALL_HOURS_ERRORS = {
  invalidStatus: 'Invalid status',
  invalidSchedule: 'Invalid schedule for call_hours',
  pastHoliday: 'Holiday given in call_hours is a past date',
  invalidTimezone: 'Timezone is invalid in call_hours',
  emptyWeekly: 'weekly_operating_hours in call_hours cannot be empty',
  invalidHolidayDate: 'Date format in holiday_schedule for call_hours is invalid',
  tooManyDayEntries: 'More than 2 entries not allowed in weekly_operating_hours schedule in call_hours',
  overlapping: 'Overlapping schedule in call_hours is not allowed',
  /** Not a documented Meta text: Meta documents the limit (20) but not its message. */
  tooManyHolidays: 'More than 20 entries not allowed in holiday_schedule in call_hours',
} as const;

export const DAYS_OF_WEEK = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

const MAX_ENTRIES_PER_DAY = 2;
const MAX_HOLIDAYS = 20;

const HHMM = /^([01][0-9]|2[0-3])[0-5][0-9]$/;
const YYYY_MM_DD = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Minutes since midnight of an `HHMM` string, or undefined when it is not `HHMM` (docs/whatsapp-calling.md#settings). */
export function parseHhmm(value: unknown): number | undefined {
  if (typeof value !== 'string' || !HHMM.test(value)) return undefined;
  return Number(value.slice(0, 2)) * 60 + Number(value.slice(2));
}

/** A real calendar date in `YYYY-MM-DD`. */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = YYYY_MM_DD.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/** An IANA zone name such as "America/Manaus" or "UTC" that the runtime's time-zone database knows. */
export function isValidTimeZone(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (!/^[A-Z][A-Za-z_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)) return false;
  if (!value.includes('/') && value !== 'UTC') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** Today's date (`YYYY-MM-DD`) in a time zone at instant `nowMs`. */
export function dateInZone(nowMs: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date(nowMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Intervals on one day overlap when each starts before the other ends; touching (1200–1200) is allowed. */
function hasOverlap(intervals: Array<[number, number]>): boolean {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]![0] < sorted[i - 1]![1]) return true;
  }
  return false;
}

function checkWeekly(weekly: unknown, add: (m: string) => void): void {
  if (!Array.isArray(weekly) || weekly.length === 0) {
    add(CALL_HOURS_ERRORS.emptyWeekly);
    return;
  }
  const perDay = new Map<string, Array<[number, number]>>();
  for (const entry of weekly) {
    if (!isObject(entry) || !DAYS_OF_WEEK.includes(entry['day_of_week'] as DayOfWeek)) {
      add(CALL_HOURS_ERRORS.invalidSchedule);
      continue;
    }
    const open = parseHhmm(entry['open_time']);
    const close = parseHhmm(entry['close_time']);
    // open_time must be before close_time, both HHMM
    if (open === undefined || close === undefined || open >= close) {
      add(CALL_HOURS_ERRORS.invalidSchedule);
      continue;
    }
    const day = entry['day_of_week'] as string;
    const list = perDay.get(day) ?? [];
    list.push([open, close]);
    perDay.set(day, list);
  }
  for (const list of perDay.values()) {
    if (list.length > MAX_ENTRIES_PER_DAY) add(CALL_HOURS_ERRORS.tooManyDayEntries);
    if (hasOverlap(list)) add(CALL_HOURS_ERRORS.overlapping);
  }
}

function checkHolidays(holidays: unknown, timeZone: string | undefined, nowMs: number, add: (m: string) => void): void {
  if (holidays === undefined) return;
  if (!Array.isArray(holidays)) {
    add(CALL_HOURS_ERRORS.invalidSchedule);
    return;
  }
  if (holidays.length > MAX_HOLIDAYS) add(CALL_HOURS_ERRORS.tooManyHolidays);
  const today = timeZone ? dateInZone(nowMs, timeZone) : undefined;
  for (const h of holidays) {
    if (!isObject(h) || !isCalendarDate(h['date'])) {
      add(CALL_HOURS_ERRORS.invalidHolidayDate);
      continue;
    }
    // Samples use start_time/end_time, the table open_time/close_time (docs/whatsapp-calling.md#doc-conflicts): accept both.
    const start = parseHhmm(h['start_time'] ?? h['open_time']);
    const end = parseHhmm(h['end_time'] ?? h['close_time']);
    if (start === undefined || end === undefined || start >= end) add(CALL_HOURS_ERRORS.invalidSchedule);
    // "past" is judged in the business's own time zone; today is still allowed.
    if (today !== undefined && (h['date'] as string) < today) add(CALL_HOURS_ERRORS.pastHoliday);
  }
}

/**
 * Checks a `call_hours` object the way Meta does (docs/whatsapp-calling.md#settings). Returns Meta's messages, each at
 * most once, in a stable order; an empty list means valid. `nowMs` decides which holidays are past.
 */
export function validateCallHours(callHours: unknown, nowMs: number): string[] {
  const found = new Set<string>();
  const add = (m: string) => { found.add(m); };
  if (!isObject(callHours)) {
    add(CALL_HOURS_ERRORS.invalidSchedule);
    return [...found];
  }
  if (callHours['status'] !== 'ENABLED' && callHours['status'] !== 'DISABLED') add(CALL_HOURS_ERRORS.invalidStatus);
  const tz = callHours['timezone_id'];
  const tzValid = isValidTimeZone(tz);
  if (!tzValid) add(CALL_HOURS_ERRORS.invalidTimezone);
  checkWeekly(callHours['weekly_operating_hours'], add);
  checkHolidays(callHours['holiday_schedule'], tzValid ? tz : undefined, nowMs, add);
  return [...found];
}
