// IAM database authentication for the main database (mainDatabaseIamUser): no URL secret, a URL
// without a password that the server accepts as an rds-iam source, and a task role that may connect as
// exactly that database user of exactly that database. cdk-nag stays clean.
import { beforeAll, describe, expect, it } from 'vitest';
import { rdsIamFromUrl } from '../../server/data-sources/rds-iam.js';
import { withDatabaseTls } from '../../server/db/tls.js';
import { DATABASE_TLS_ENVIRONMENT } from '../lib/service.js';
import {
  acknowledgements,
  nagFindings,
  referencedId,
  resourcesOfType,
  synthesize,
  type CfnResource,
  type Synthesized,
} from './helpers.js';

const HOST = 'orders.c9akciq32xyz.eu-west-2.rds.amazonaws.com';
const CONTEXT = {
  mainDatabaseIamUser: 'porthole_reader',
  mainDatabaseHost: HOST,
  mainDatabaseName: 'orders',
  mainDatabaseResourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0',
};

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize(CONTEXT);
});
const props = (resource: CfnResource) => resource.Properties ?? {};

interface Container {
  Environment?: Array<{ Name: string; Value: unknown }>;
  Secrets?: Array<{ Name: string }>;
}

function serviceTask(): { container: Container; taskRoleId: string } {
  const [, task] = resourcesOfType(synth.resources, 'AWS::ECS::TaskDefinition').find(([, r]) => props(r).Family === 'porthole')!;
  return {
    container: (props(task).ContainerDefinitions as Container[])[0]!,
    taskRoleId: referencedId(props(task).TaskRoleArn)!,
  };
}

describe('IAM database authentication for the main database', () => {
  it('keeps no main-database URL secret and gives the tasks a URL without a password that the server accepts', () => {
    expect(resourcesOfType(synth.resources, 'AWS::SecretsManager::Secret').map(([id]) => id)).not.toContainEqual(
      expect.stringMatching(/^MainDatabaseUrl/),
    );
    const { container } = serviceTask();
    expect((container.Secrets ?? []).map((s) => s.Name)).not.toContain('MAIN_DATABASE_URL');
    const environment = Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, e.Value]));
    expect(environment.MAIN_DATABASE_AUTH).toBe('rds-iam');
    expect(environment.MAIN_DATABASE_URL).toBe(`postgres://porthole_reader@${HOST}:5432/orders`);

    // What the server makes of it, with the CA bundle the stack points at: verify-full, the endpoint's region.
    const problems: string[] = [];
    const url = withDatabaseTls(environment.MAIN_DATABASE_URL as string, DATABASE_TLS_ENVIRONMENT.DATABASE_CA_FILE);
    expect(rdsIamFromUrl(url, {}, problems)).toEqual({
      host: HOST,
      port: 5432,
      database: 'orders',
      user: 'porthole_reader',
      region: 'eu-west-2',
      caFile: '/app/certs/rds-ca-bundle.pem',
    });
    expect(problems).toEqual([]);
  });

  it('lets the task role rds-db:connect as exactly that user of exactly that database, and nothing else', () => {
    const { taskRoleId } = serviceTask();
    const statements = resourcesOfType(synth.resources, 'AWS::IAM::Policy')
      .map(([, r]) => props(r))
      .filter((p) => (p.Roles as unknown[]).map(referencedId).includes(taskRoleId))
      .flatMap(
        (p) => (p.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown; Effect: string }> }).Statement,
      );
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toBe('rds-db:connect');
    expect(statements[0]!.Effect).toBe('Allow');
    expect(statements[0]!.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:aws:rds-db:eu-west-2:', { Ref: 'AWS::AccountId' }, ':dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/porthole_reader'],
      ],
    });
  });

  it('passes cdk-nag, with acknowledgements only for findings that exist', () => {
    expect(nagFindings(synth.app)).toEqual([]);
    const raw = nagFindings(synth.app, { ignoringAcknowledgements: true });
    for (const a of acknowledgements(synth.app).filter((x) => x.rule.startsWith('AwsSolutions-'))) {
      expect(
        raw.some((f) => f.rule === a.rule && (f.path === a.path || f.path.startsWith(`${a.path}/`))),
        `${a.rule} at ${a.path}`,
      ).toBe(true);
    }
  });
});
