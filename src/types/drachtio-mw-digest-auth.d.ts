// drachtio-mw-digest-auth 0.3.x ships no types; pbx-trunk-server.ts types the factory it uses.
declare module 'drachtio-mw-digest-auth' {
  const digestAuth: unknown;
  export default digestAuth;
}
