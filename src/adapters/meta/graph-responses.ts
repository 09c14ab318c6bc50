import { z } from 'zod';
import type { CallPermission, PermissionLimit } from '../../calls/ports/whatsapp-provider.js';

/**
 * Checks and maps the 2xx bodies Graph promises (docs/whatsapp-calling.md#call-actions). Each parser throws an Error naming
 * the first mismatch; GraphClient turns that into ProviderError(kind 'protocol'). Parsing is
 * tolerant where Meta's docs disagree (docs/whatsapp-calling.md#doc-conflicts): extra keys are ignored, numbers may arrive
 * as strings.
 */

function check<S extends z.ZodType>(schema: S, doc: unknown): z.output<S> {
  const r = schema.safeParse(doc);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new Error(`${where}: ${issue?.message ?? 'invalid'}`);
}

const count = z.union([z.number(), z.string().regex(/^[0-9]+$/).transform(Number)]);
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/** Unix seconds from a number, a numeric string, or (defensively) an ISO date string. */
export function unixSeconds(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  return undefined;
}

// connect (docs/whatsapp-calling.md#call-actions): {"messaging_product":"whatsapp","calls":[{"id":"wacid..."}]}
const connectSchema = z.object({
  calls: z.array(z.object({ id: z.string().min(1) })).min(1),
});
export function parseConnectResponse(doc: unknown): { callId: string } {
  const body = check(connectSchema, doc);
  return { callId: body.calls[0]!.id };
}

// Other call actions, POST settings: {"success":true}; UIC samples omit messaging_product.
const successSchema = z.object({ success: z.literal(true) });
export function parseSuccess(doc: unknown): void {
  check(successSchema, doc);
}

// Messages response (docs/whatsapp-calling.md#permission-requests): {"contacts":[...],"messages":[{"id":"wamid..."}]}
const messageSchema = z.object({
  messages: z.array(z.object({ id: z.string().min(1) })).min(1),
});
export function parseMessageId(doc: unknown): { messageId: string } {
  const body = check(messageSchema, doc);
  return { messageId: body.messages[0]!.id };
}

// GET settings (docs/whatsapp-calling.md#settings): the whole document, untouched (it may hold SIP passwords: never log it).
const objectSchema = z.record(z.string(), z.unknown());
export function parseJsonObject(doc: unknown): Record<string, unknown> {
  return check(objectSchema, doc);
}

// call_permissions (docs/whatsapp-calling.md#permissions).
const limitSchema = z.object({
  time_period: z.string(),
  max_allowed: count,
  current_usage: count,
  limit_expiration_time: z.unknown().optional(),
});
const actionSchema = z.object({
  action_name: z.string(),
  can_perform_action: flag,
  limits: z.array(limitSchema).default([]),
});
const permissionsSchema = z.object({
  permission: z.object({
    status: z.string().min(1),
    // Doc conflict (docs/whatsapp-calling.md#doc-conflicts): the sample says expiration_time, the table says expiration. Accept both.
    expiration_time: z.unknown().optional(),
    expiration: z.unknown().optional(),
  }),
  actions: z.array(actionSchema).default([]),
});

export function parseCallPermission(doc: unknown): CallPermission {
  const body = check(permissionsSchema, doc);
  const expiresAt = unixSeconds(body.permission.expiration_time) ?? unixSeconds(body.permission.expiration);
  return {
    status: body.permission.status,
    ...(expiresAt !== undefined && { expiresAt }),
    actions: body.actions.map((a) => ({
      name: a.action_name,
      canPerform: a.can_perform_action,
      limits: a.limits.map((l): PermissionLimit => {
        const limitExpiresAt = unixSeconds(l.limit_expiration_time);
        return {
          timePeriod: l.time_period,
          maxAllowed: l.max_allowed,
          currentUsage: l.current_usage,
          ...(limitExpiresAt !== undefined && { limitExpiresAt }),
        };
      }),
    })),
  };
}
