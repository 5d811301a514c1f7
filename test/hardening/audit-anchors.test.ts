// Issue "production hardening", item 4 (storage half): anchors go to an S3 Object Lock bucket as signed
// PUTs with the lock headers and a checksum (checked by a loopback S3 stand-in that verifies SigV4), or
// to the tools DB's append-only audit_anchors table; audit:verify --anchor s3://... reads them back and
// catches a rewrite of the chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentAnchor } from '../../server/audit/anchor.js';
import { anchorsInToolsDb, parseS3Location, S3AnchorStore, ToolsDbAnchorStore } from '../../server/audit/anchor-store.js';
import { AuditLog } from '../../server/audit/service.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { adminQuery, createToolsDatabase, type TestToolsDatabase } from '../support/databases.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { operatorEnv, runOperatorCli } from '../support/operator.js';

const CREDENTIALS = { accessKeyId: 'PORTHOLETESTKEY', secretAccessKey: 'porthole-test-secret-not-aws' };

describe('audit anchors', () => {
  let tools: TestToolsDatabase;
  let serving: ToolsDb;
  let audit: AuditLog;
  let s3: FakeS3;

  beforeAll(async () => {
    [tools, s3] = await Promise.all([createToolsDatabase(), startFakeS3(CREDENTIALS.secretAccessKey)]);
    serving = connectToolsDb(tools.appUrl, { max: 2 });
    audit = new AuditLog(serving.db);
    for (let i = 0; i < 3; i++) await audit.record({ action: 'system.started', details: { i } });
  });
  afterAll(async () => {
    await serving?.close();
    await s3?.close();
    await tools?.drop();
  });

  const s3Store = () =>
    new S3AnchorStore(parseS3Location('s3://porthole-anchors/prod'), serving.db, {
      endpoint: s3.endpoint,
      region: 'eu-west-2',
      credentials: CREDENTIALS,
    });

  it('writes a signed PUT with Object Lock headers and a SHA-256 checksum, and records where it went', async () => {
    const anchor = await currentAnchor(serving.db);
    const destination = await s3Store().write(anchor);
    expect(s3.refusals).toEqual([]);
    expect(destination).toMatch(/^s3:\/\/porthole-anchors\/prod\/anchors\/0{19}3-.*\.json$/);
    const [stored] = [...s3.objects.values()];
    expect(JSON.parse(stored!.body)).toEqual(anchor);
    expect(stored!.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    expect(new Date(String(stored!.headers['x-amz-object-lock-retain-until-date'])).getTime()).toBeGreaterThan(
      Date.now() + 300 * 86_400_000,
    );
    expect(stored!.headers['x-amz-checksum-sha256']).toBeDefined();
    expect(String(stored!.headers.authorization)).toMatch(/SignedHeaders=[^,]*x-amz-checksum-sha256[^,]*x-amz-object-lock-mode/);
    expect((await anchorsInToolsDb(serving.db)).map((a) => a.seq)).toEqual(['3']);
  });

  it('is refused by S3 when signed with the wrong secret (the stand-in checks signatures)', async () => {
    const wrong = new S3AnchorStore(parseS3Location('s3://porthole-anchors/prod'), serving.db, {
      endpoint: s3.endpoint,
      region: 'eu-west-2',
      credentials: { ...CREDENTIALS, secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
    });
    await expect(wrong.write(await currentAnchor(serving.db))).rejects.toThrow();
    expect(s3.refusals).toContain('SignatureDoesNotMatch');
  });

  it('keeps anchors in the tools DB without a bucket; the serving role cannot change them', async () => {
    await new ToolsDbAnchorStore(serving.db).write(await currentAnchor(serving.db));
    expect((await anchorsInToolsDb(serving.db)).map((a) => a.seq)).toEqual(['3', '3']);
    await expect(serving.db.deleteFrom('audit_anchors').execute()).rejects.toThrow(/append-only|permission denied/);
  });

  it('audit:verify --anchor s3://... reads the bucket and catches a consistent rewrite of the chain', async () => {
    const env = {
      ...operatorEnv(tools.appUrl, tools.ownerUrl),
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'eu-west-2',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    };
    const clean = await runOperatorCli('audit-verify', ['--anchor', 's3://porthole-anchors/prod'], env);
    expect(clean.stdout + clean.stderr).toMatch(/anchors: 1 matched/);
    expect(clean.code).toBe(0);
    // A superuser rewrites event 3 and recomputes every hash after it: the chain verifies, the anchor does not.
    await adminQuery(
      `begin; set local session_replication_role = replica;
       update audit_events set hash = sha256(hash) where seq = 3;
       update audit_chain_head set hash = (select hash from audit_events where seq = 3);
       commit`,
      [],
      tools.database,
    );
    const caught = await runOperatorCli('audit-verify', ['--incremental', '--anchor', 's3://porthole-anchors/prod'], env);
    expect(caught.stdout).toMatch(/FAILED/);
    expect(caught.code).toBe(1);
  });
});
