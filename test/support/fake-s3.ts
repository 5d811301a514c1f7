// A loopback stand-in for S3 (no S3-compatible server is available offline): it verifies each request's
// AWS Signature Version 4 with its own implementation of the algorithm, keeps PUT objects in memory with
// their headers, and answers GET object and ListObjectsV2. Only what the anchor store uses.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredObject {
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface FakeS3 {
  endpoint: string;
  objects: Map<string, StoredObject>;
  /** Requests refused, with why (bad signature, wrong payload hash, ...). */
  refusals: string[];
  close(): Promise<void>;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** The signature a correct SigV4 signer would compute for this request (S3: paths not double-encoded). */
function expectedSignature(req: http.IncomingMessage, secret: string): { signature: string; provided: string } {
  const auth = req.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!match) throw new Error(`malformed Authorization: ${auth}`);
  const [, , date, region, signedHeaders, provided] = match as unknown as [string, string, string, string, string, string];
  const url = new URL(req.url!, 'http://s3.local');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders.split(';').map(
    (name) =>
      `${name}:${String(req.headers[name] ?? '')
        .trim()
        .replace(/\s+/g, ' ')}\n`,
  );
  const canonical = [req.method, url.pathname, query, headers.join(''), signedHeaders, req.headers['x-amz-content-sha256']].join(
    '\n',
  );
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'], scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
  return { signature: createHmac('sha256', key).update(toSign).digest('hex'), provided };
}

export async function startFakeS3(secretAccessKey: string): Promise<FakeS3> {
  const objects = new Map<string, StoredObject>();
  const refusals: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const refuse = (why: string) => {
        refusals.push(why);
        res.statusCode = 403;
        res.end(`<Error><Code>AccessDenied</Code><Message>${why}</Message></Error>`);
      };
      try {
        const { signature, provided } = expectedSignature(req, secretAccessKey);
        if (signature !== provided) return refuse('SignatureDoesNotMatch');
      } catch (error) {
        return refuse(String(error));
      }
      const payloadHash = req.headers['x-amz-content-sha256'];
      if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(body)) return refuse('XAmzContentSHA256Mismatch');
      const url = new URL(req.url!, 'http://s3.local');
      const [, bucket, ...keyParts] = url.pathname.split('/');
      const key = decodeURIComponent(keyParts.join('/'));
      if (req.method === 'PUT') {
        const checksum = req.headers['x-amz-checksum-sha256'];
        if (checksum !== undefined && checksum !== createHash('sha256').update(body).digest('base64')) return refuse('BadDigest');
        objects.set(`${bucket}/${key}`, { body: body.toString(), headers: req.headers });
        res.setHeader('ETag', `"${createHash('md5').update(body).digest('hex')}"`);
        return res.end();
      }
      if (req.method === 'GET' && url.searchParams.get('list-type') === '2') {
        const prefix = `${bucket}/${url.searchParams.get('prefix') ?? ''}`;
        const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
        res.setHeader('Content-Type', 'application/xml');
        return res.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><KeyCount>${keys.length}</KeyCount>` +
            `<IsTruncated>false</IsTruncated>${keys.map((k) => `<Contents><Key>${k.slice(bucket!.length + 1)}</Key></Contents>`).join('')}</ListBucketResult>`,
        );
      }
      const object = objects.get(`${bucket}/${key}`);
      if (req.method === 'GET' && object) return res.end(object.body);
      res.statusCode = 404;
      res.end('<Error><Code>NoSuchKey</Code></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    refusals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
