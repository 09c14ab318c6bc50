import { z } from 'zod';

/**
 * `trunks[].permission_policy`: what watrunk does before a business-initiated call (docs/whatsapp-calling.md#permissions).
 *   off      just call (Meta still refuses calls without permission: 138006 → 403).
 *   check    look up call_permissions first; no permission → 403, no `connect` is sent.
 *   request  like check, and when Meta allows a permission request, send one (interactive message,
 *            or a template), then answer 403 saying that permission was requested.
 * A plain string is shorthand for `{ mode: <string> }`.
 */

export const permissionTemplateSchema = z.object({
  /** An approved template with a call_permission_request component (docs/whatsapp-calling.md#permission-requests). */
  name: z.string().min(1),
  /** Template language code, e.g. "en" or "en_US". */
  language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'a template language code such as "en" or "en_US"'),
}).strict();

const requestSchema = z.object({
  /**
   * auto: the interactive message, and the template when Meta answers that the 24-hour customer
   * service window is closed (131047); interactive: never a template; template: always the template.
   */
  message: z.enum(['auto', 'interactive', 'template']).default('auto'),
  /** Optional body of the interactive request ("Can we call you about your order?"). */
  body_text: z.string().min(1).max(1024).optional(),
  template: permissionTemplateSchema.optional(),
}).strict().refine((r) => r.message !== 'template' || r.template !== undefined, {
  message: 'message: template needs a template { name, language }',
  path: ['template'],
});

export const permissionPolicySchema = z.preprocess(
  (v) => (typeof v === 'string' ? { mode: v } : v),
  z.object({
    mode: z.enum(['off', 'check', 'request']).default('off'),
    /**
     * When call_permissions cannot be read (613 rate limit, timeout, network): `allow` places the
     * call anyway with a warning (Meta enforces permission itself: 138006 → 403), `reject` answers
     * the PBX with the mapped Graph error.
     */
    on_lookup_error: z.enum(['allow', 'reject']).default('allow'),
    request: requestSchema.default({ message: 'auto' }),
  }).strict(),
);

export type PermissionPolicy = z.infer<typeof permissionPolicySchema>;
export type PermissionTemplate = z.infer<typeof permissionTemplateSchema>;
