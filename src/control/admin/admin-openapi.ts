/**
 * The OpenAPI 3.1 description of the admin API (served at GET <prefix>/openapi.json). Written by
 * hand as a static object (@fastify/swagger is not a dependency); test/unit/control-restrictions.test.ts
 * checks that every route registered by admin-api.ts is described here and vice versa.
 */

const json = (schema: Record<string, unknown>, description = 'OK') => ({
  description, content: { 'application/json': { schema } },
});
const error = json({ $ref: '#/components/schemas/Error' }, 'Error');
const errors = {
  400: { ...error, description: 'Bad request' },
  401: { ...error, description: 'Missing or wrong bearer token' },
  404: { ...error, description: 'Unknown business number' },
  502: { ...error, description: 'The WhatsApp API refused or failed the request' },
};
const numberParam = { name: 'number', in: 'path', required: true, description: 'Business number: name, phone_number_id or display number', schema: { type: 'string' } };
const userParam = { name: 'user', in: 'path', required: true, description: 'WhatsApp user: digits with country code, or a BSUID', schema: { type: 'string' } };
const obj = { type: 'object', additionalProperties: true };
const body = (properties: Record<string, unknown>) => ({
  required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties } } },
});
const dryRun = { dry_run: { type: 'boolean', description: 'Only show what would change' } };

export function adminOpenApi(prefix: string): Record<string, unknown> {
  const p = (path: string) => `${prefix}${path}`;
  return {
    openapi: '3.1.0',
    info: {
      title: 'watrunk admin API',
      version: '1',
      description: 'The calling control plane: settings as code, the SIP block and credentials, call permissions. The same operations as `watrunk settings|sip|permissions`.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token in the environment variable named by admin.token_env' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' }, code: { type: 'integer' }, traceId: { type: 'string' } }, required: ['error'] },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      [p('/numbers/{number}/settings')]: {
        get: { operationId: 'settingsGet', summary: 'Live calling settings, restrictions and SIP mode comparison', parameters: [numberParam], responses: { 200: json(obj), ...errors } },
      },
      [p('/settings/diff')]: {
        get: { operationId: 'settingsDiffAll', summary: 'What differs between numbers[].calling and Meta, for every number', responses: { 200: json({ type: 'array', items: obj }), ...errors } },
      },
      [p('/numbers/{number}/settings/diff')]: {
        get: { operationId: 'settingsDiff', summary: 'What differs between numbers[].calling and Meta', parameters: [numberParam], responses: { 200: json(obj), ...errors } },
      },
      [p('/settings/apply')]: {
        post: { operationId: 'settingsApplyAll', summary: 'Send only what differs, as focused updates, for every number', requestBody: body(dryRun), responses: { 200: json({ type: 'array', items: obj }), ...errors } },
      },
      [p('/numbers/{number}/settings/apply')]: {
        post: { operationId: 'settingsApply', summary: 'Send only what differs, as focused updates', parameters: [numberParam], requestBody: body(dryRun), responses: { 200: json(obj), ...errors } },
      },
      [p('/numbers/{number}/sip')]: {
        get: { operationId: 'sipStatus', summary: "Meta's sip block, compared with the configured mode", parameters: [numberParam], responses: { 200: json(obj), ...errors } },
      },
      [p('/numbers/{number}/sip/enable')]: {
        post: {
          operationId: 'sipEnable',
          summary: 'Enable SIP signalling (refused for a number in api mode unless force)',
          parameters: [numberParam],
          requestBody: body({
            hostname: { type: 'string' }, port: { type: 'integer', minimum: 1, maximum: 65535 },
            request_uri_user_params: { type: 'object', additionalProperties: { type: 'string', maxLength: 128 } },
            force: { type: 'boolean' }, ...dryRun,
          }),
          responses: { 200: json(obj, 'The plan, applied or not'), 409: { ...error, description: 'Refused (the plan says why)' }, ...errors },
        },
      },
      [p('/numbers/{number}/sip/disable')]: {
        post: { operationId: 'sipDisable', summary: 'Disable SIP signalling (back to API mode)', parameters: [numberParam], requestBody: body(dryRun), responses: { 200: json(obj), ...errors } },
      },
      [p('/numbers/{number}/sip/credentials')]: {
        post: {
          operationId: 'sipCredentials',
          summary: 'Fetch the SIP password (masked unless reveal), with its fingerprint and whether it changed since the last fetch',
          parameters: [numberParam],
          requestBody: body({ reveal: { type: 'boolean' }, hostname: { type: 'string' } }),
          responses: { 200: json(obj), ...errors },
        },
      },
      [p('/numbers/{number}/permissions/{user}')]: {
        get: { operationId: 'permissionsCheck', summary: "The user's call permission (GET call_permissions)", parameters: [numberParam, userParam], responses: { 200: json(obj), ...errors } },
      },
      [p('/numbers/{number}/permissions/{user}/request')]: {
        post: {
          operationId: 'permissionsRequest',
          summary: 'Send a call permission request unless the user has granted permission',
          parameters: [numberParam, userParam],
          requestBody: body({
            message: { enum: ['auto', 'interactive', 'template'] }, body_text: { type: 'string' },
            template: { type: 'object', properties: { name: { type: 'string' }, language: { type: 'string' } }, required: ['name', 'language'] },
          }),
          responses: { 200: json(obj), ...errors },
        },
      },
      [p('/openapi.json')]: {
        get: { operationId: 'openapi', summary: 'This document', security: [], responses: { 200: json(obj) } },
      },
    },
  };
}
