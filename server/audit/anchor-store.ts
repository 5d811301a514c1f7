// Where scheduled anchors go: the deployment's S3 Object Lock bucket (AUDIT_ANCHOR_BUCKET, reached
// through the VPC's S3 gateway endpoint) when there is one, otherwise the tools DB's append-only
// audit_anchors table. Either way the tools DB records each anchor and its destination.
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { Anchor } from './anchor.js';
import { parseS3Location, type S3Location } from './s3-location.js';

export { parseS3Location };

export interface AnchorStore {
  /** Writes one anchor and returns where it went (`tools-db` or `s3://bucket/key`). */
  write(anchor: Anchor): Promise<string>;
}

/** Anchors kept for this long in compliance mode; the bucket's default retention applies on top. */
const RETAIN_DAYS = 400;

export class S3AnchorStore implements AnchorStore {
  private readonly client: S3Client;

  constructor(
    private readonly location: S3Location,
    private readonly db: Kysely<Database>,
    clientConfig: S3ClientConfig = {},
  ) {
    this.client = new S3Client(clientConfig);
  }

  async write(anchor: Anchor): Promise<string> {
    const body = `${JSON.stringify(anchor)}\n`;
    // Zero-padded seq first, so a listing is in chain order; the time keeps two anchors of one head apart.
    const key = `${this.location.prefix}anchors/${anchor.seq.padStart(20, '0')}-${anchor.anchoredAt.replace(/[:.]/g, '')}.json`;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.location.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + RETAIN_DAYS * 86_400_000),
      }),
    );
    const destination = `s3://${this.location.bucket}/${key}`;
    await recordAnchor(this.db, anchor, destination);
    return destination;
  }

  /** Every anchor under the prefix, oldest first (for `audit:verify --anchor s3://...`). */
  async readAll(): Promise<Anchor[]> {
    const anchors: Anchor[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: `${this.location.prefix}anchors/`,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        const got = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: object.Key }));
        anchors.push(JSON.parse(await got.Body!.transformToString()) as Anchor);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return anchors;
  }
}

export class ToolsDbAnchorStore implements AnchorStore {
  constructor(private readonly db: Kysely<Database>) {}

  async write(anchor: Anchor): Promise<string> {
    await recordAnchor(this.db, anchor, 'tools-db');
    return 'tools-db';
  }
}

async function recordAnchor(db: Kysely<Database>, anchor: Anchor, destination: string): Promise<void> {
  await db
    .insertInto('audit_anchors')
    .values({ seq: anchor.seq, hash: Buffer.from(anchor.hash, 'hex'), destination, anchored_at: new Date(anchor.anchoredAt) })
    .execute();
}

/** The anchors the tools DB keeps (those written there, and the record of those sent to S3). */
export async function anchorsInToolsDb(db: Kysely<Database>): Promise<Anchor[]> {
  const rows = await db.selectFrom('audit_anchors').select(['seq', 'hash', 'anchored_at']).orderBy('id').execute();
  return rows.map((row) => ({ seq: row.seq, hash: row.hash.toString('hex'), anchoredAt: row.anchored_at.toISOString() }));
}
