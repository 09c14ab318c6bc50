import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_PAYLOAD_SHA256, acs3Date, canonicalQueryString, canonicalUri, newSignatureNonce, percentEncode, signAcs3,
} from '../../src/adapters/cams/acs3-signer.js';
import { sessionParam } from '../../src/adapters/cams/cams-types.js';

/**
 * The worked example of Alibaba Cloud's "Request syntax and signature method V3" page
 * (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature,
 * fixed-parameter signature example; the Chinese original is
 * https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature):
 * ECS RunInstances, AccessKey "YourAccessKeyId" / "YourAccessKeySecret", empty body.
 */
const PUBLISHED = {
  accessKeyId: 'YourAccessKeyId',
  accessKeySecret: 'YourAccessKeySecret',
  host: 'ecs.cn-shanghai.aliyuncs.com',
  action: 'RunInstances',
  version: '2014-05-26',
  date: '2023-10-26T10:22:32Z',
  nonce: '3156853299f313e23d1673dc12e1703d',
  query: 'ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai',
  canonicalRequest: [
    'POST',
    '/',
    'ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai',
    'host:ecs.cn-shanghai.aliyuncs.com',
    'x-acs-action:RunInstances',
    'x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-acs-date:2023-10-26T10:22:32Z',
    'x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d',
    'x-acs-version:2014-05-26',
    '',
    'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ].join('\n'),
  hashedCanonicalRequest: '7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259',
  signature: '06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0',
  authorization:
    'ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0',
};

function signPublished() {
  return signAcs3({
    method: 'POST', host: PUBLISHED.host, pathname: '/', action: PUBLISHED.action, version: PUBLISHED.version,
    // Deliberately unsorted: the signer must sort.
    query: { RegionId: 'cn-shanghai', ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd' },
    date: new Date(PUBLISHED.date), nonce: PUBLISHED.nonce,
  }, { accessKeyId: PUBLISHED.accessKeyId, accessKeySecret: PUBLISHED.accessKeySecret });
}

describe('ACS3-HMAC-SHA256 against the published example', () => {
  it('builds the canonical request byte for byte', () => {
    const s = signPublished();
    expect(s.query).toBe(PUBLISHED.query);
    expect(s.canonicalRequest).toBe(PUBLISHED.canonicalRequest);
    expect(createHash('sha256').update(s.canonicalRequest).digest('hex')).toBe(PUBLISHED.hashedCanonicalRequest);
  });

  it('produces the published string to sign, signature and Authorization header', () => {
    const s = signPublished();
    expect(s.stringToSign).toBe(`ACS3-HMAC-SHA256\n${PUBLISHED.hashedCanonicalRequest}`);
    expect(s.signature).toBe(PUBLISHED.signature);
    expect(s.signedHeaders).toBe('host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version');
    expect(s.headers['authorization']).toBe(PUBLISHED.authorization);
  });

  it('sends the headers it signed, with the published values', () => {
    const h = signPublished().headers;
    expect(h).toEqual({
      host: 'ecs.cn-shanghai.aliyuncs.com',
      'x-acs-action': 'RunInstances',
      'x-acs-version': '2014-05-26',
      'x-acs-date': '2023-10-26T10:22:32Z',
      'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d',
      'x-acs-content-sha256': EMPTY_PAYLOAD_SHA256,
      authorization: PUBLISHED.authorization,
    });
  });

  it('any change to a signed part changes the signature', () => {
    const base = signPublished().signature;
    const vary = (patch: Partial<Parameters<typeof signAcs3>[0]>) => signAcs3({
      method: 'POST', host: PUBLISHED.host, action: PUBLISHED.action, version: PUBLISHED.version,
      query: { RegionId: 'cn-shanghai', ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd' },
      date: new Date(PUBLISHED.date), nonce: PUBLISHED.nonce, ...patch,
    }, { accessKeyId: PUBLISHED.accessKeyId, accessKeySecret: PUBLISHED.accessKeySecret }).signature;
    expect(vary({})).toBe(base);
    expect(vary({ nonce: 'other' })).not.toBe(base);
    expect(vary({ host: 'ecs.cn-beijing.aliyuncs.com' })).not.toBe(base);
    expect(vary({ method: 'GET' })).not.toBe(base);
    expect(vary({ query: { RegionId: 'cn-shanghai' } })).not.toBe(base);
    expect(vary({ body: 'x=1', contentType: 'application/x-www-form-urlencoded' })).not.toBe(base);
  });
});

describe('canonicalisation rules', () => {
  it('percent-encodes per RFC 3986: unreserved kept, space %20, * %2A, ~ kept, UTF-8 bytes', () => {
    expect(percentEncode('AZaz09-_.~')).toBe('AZaz09-_.~');
    expect(percentEncode("a b*c+d/e=f&g:h!'()")).toBe('a%20b%2Ac%2Bd%2Fe%3Df%26g%3Ah%21%27%28%29');
    expect(percentEncode('é中')).toBe('%C3%A9%E4%B8%AD');
    expect(percentEncode('{"Sdp":"v=0\r\n"}')).toBe('%7B%22Sdp%22%3A%22v%3D0%0D%0A%22%7D');
  });

  it('sorts the query by name, keeps empty values as "Name=", leaves out undefined ones', () => {
    expect(canonicalQueryString({ b: '2', A: '1', a: '', c: undefined })).toBe('A=1&a=&b=2');
    expect(canonicalQueryString({})).toBe('');
  });

  it('encodes path segments, "/" for RPC', () => {
    expect(canonicalUri(undefined)).toBe('/');
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('/a b/c*~')).toBe('/a%20b/c%2A~');
  });

  it('dates are ISO 8601 UTC without milliseconds; nonces are fresh 32-hex strings', () => {
    expect(acs3Date(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe('2026-01-02T03:04:05Z');
    const a = newSignatureNonce();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newSignatureNonce()).not.toBe(a);
  });

  it('signs a body: payload hash of the bytes and content-type among the signed headers', () => {
    const s = signAcs3({
      method: 'POST', host: 'h', action: 'A', version: 'V', body: 'x=1', contentType: ' application/x-www-form-urlencoded ',
      date: new Date(PUBLISHED.date), nonce: 'n',
    }, { accessKeyId: 'id', accessKeySecret: 'secret' });
    const sha = createHash('sha256').update('x=1').digest('hex');
    expect(s.headers['x-acs-content-sha256']).toBe(sha);
    expect(s.signedHeaders).toBe('content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version');
    expect(s.canonicalRequest).toContain('\ncontent-type:application/x-www-form-urlencoded\nhost:h\n');
    expect(s.canonicalRequest.endsWith(`\n${sha}`)).toBe(true);
  });

  it('STS credentials add x-acs-accesskey-id and x-acs-security-token, both signed', () => {
    const s = signAcs3({ method: 'POST', host: 'h', action: 'A', version: 'V', date: new Date(PUBLISHED.date), nonce: 'n' },
      { accessKeyId: 'STS.id', accessKeySecret: 'secret', securityToken: 'tok' });
    expect(s.headers['x-acs-security-token']).toBe('tok');
    expect(s.headers['x-acs-accesskey-id']).toBe('STS.id');
    expect(s.signedHeaders).toBe(
      'host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version',
    );
  });

  it('never puts the secret in anything it returns except through the HMAC', () => {
    const s = signAcs3({ method: 'POST', host: 'h', action: 'A', version: 'V', query: { a: '1' } },
      { accessKeyId: 'id', accessKeySecret: 'TopSecretValue123' });
    expect(JSON.stringify(s)).not.toContain('TopSecretValue123');
  });

  it('a WhatsappCall Session JSON string is encoded into the canonical query exactly', () => {
    const session = sessionParam('offer', 'v=0\r\na=x y\r\n');
    expect(session).toBe('{"Sdp":"v=0\\r\\na=x y\\r\\n","SdpType":"offer"}');
    expect(canonicalQueryString({ Session: session })).toBe(
      'Session=%7B%22Sdp%22%3A%22v%3D0%5Cr%5Cna%3Dx%20y%5Cr%5Cn%22%2C%22SdpType%22%3A%22offer%22%7D',
    );
  });
});
