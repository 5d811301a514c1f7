// Context parsing: defaults, placeholders, and the mistakes it must stop before a deploy does.
import { describe, expect, it } from 'vitest';
import { PLACEHOLDERS, SettingsError, settingsFromContext } from '../lib/settings.js';

const read = (context: Record<string, unknown>) => settingsFromContext({ tryGetContext: (key: string) => context[key] });
const problems = (context: Record<string, unknown>): string[] => {
  try {
    read(context);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
};

describe('deployment settings', () => {
  it('has working defaults and names every placeholder still in use', () => {
    const { settings, placeholders } = read({});
    expect(placeholders.sort()).toEqual(Object.keys(PLACEHOLDERS).sort());
    expect(settings).toMatchObject({
      region: 'eu-west-2',
      account: undefined,
      vpc: { kind: 'new', cidr: '10.60.0.0/16', availabilityZones: [] },
      allowedCidrs: ['0.0.0.0/0'],
      internetFacing: true,
      waf: true,
      service: { desiredCount: 2, maxCount: 6, cpu: 512, memoryMiB: 1024, arm64: false },
      toolsDatabase: { multiAz: true, backupRetentionDays: 35 },
      logRetentionDays: 365,
      auditAnchors: { enabled: false },
    });
  });

  it('takes lists as JSON arrays (cdk.json) or comma-separated strings (-c)', () => {
    expect(read({ allowedCidrs: ['10.0.0.0/8', '192.168.0.0/16'] }).settings.allowedCidrs).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
    ]);
    expect(read({ allowedCidrs: '10.0.0.0/8, 192.168.0.0/16' }).settings.allowedCidrs).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(read({ domainName: 'porthole.example.org' }).placeholders).not.toContain('domainName');
  });

  it('allows 0 tasks for the first deploy but never a single task', () => {
    expect(read({ desiredCount: '0' }).settings.service.desiredCount).toBe(0);
    expect(problems({ desiredCount: '1' })).toEqual(['desiredCount must be at least 2 (two zones), or 0 for the first deploy']);
  });

  it('reports every problem at once', () => {
    expect(
      problems({
        vpcCidr: '10.0.0.0',
        logRetentionDays: '17',
        allowedCidrs: 'everyone',
        waf: 'yes',
        egressProxyUrl: 'http://proxy:3128',
        oidcIssuerUrl: 'http://idp.example.com',
      }),
    ).toEqual([
      'vpcCidr must be an IPv4 CIDR (got "10.0.0.0")',
      expect.stringMatching(/^logRetentionDays must be one CloudWatch offers/),
      'allowedCidrs: "everyone" is not an IPv4 CIDR',
      'egressProxyUrl and egressProxyCidr go together',
      'waf must be true or false (got "yes")',
      'oidcIssuerUrl must use https',
    ]);
  });

  it('needs the subnets, route tables and zones of an existing VPC', () => {
    expect(problems({ vpcId: 'vpc-1', availabilityZones: 'eu-west-2a,eu-west-2b', privateSubnetIds: 'subnet-1' })).toEqual([
      "vpcCidr (the imported VPC's CIDR) is required with vpcId",
      'privateSubnetIds must list one subnet per availability zone',
      'privateRouteTableIds must list the route table of each private subnet (for the S3 gateway endpoint)',
      'publicSubnetIds must list at least two subnets for an internet-facing load balancer',
    ]);
  });

  it('needs zone names when pinned to an account, so nothing is looked up', () => {
    expect(problems({ account: '123456789012' })).toEqual([
      'availabilityZones must be given with account (the zone names would otherwise need a lookup in that account)',
    ]);
    expect(problems({ account: '123456789012', availabilityZones: 'eu-west-2a,eu-west-2b' })).toEqual([]);
  });

  it('reads IAM database authentication for the main database and names what it lacks', () => {
    const iam = {
      mainDatabaseIamUser: 'porthole_reader',
      mainDatabaseHost: 'orders.c9akciq32xyz.eu-west-2.rds.amazonaws.com',
      mainDatabaseName: 'orders',
      mainDatabaseResourceId: 'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0',
    };
    expect(read(iam).settings.mainDatabaseIam).toEqual({
      user: 'porthole_reader',
      host: 'orders.c9akciq32xyz.eu-west-2.rds.amazonaws.com',
      database: 'orders',
      resourceId: 'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0',
    });
    expect(read({}).settings.mainDatabaseIam).toBeUndefined();
    expect(problems({ mainDatabaseIamUser: 'porthole-reader', mainDatabaseResourceId: 'db-123' })).toEqual([
      'mainDatabaseIamUser must be a plain database user name (got "porthole-reader")',
      'mainDatabaseHost (the main database endpoint) is required with mainDatabaseIamUser',
      'mainDatabaseName (the database to read) is required with mainDatabaseIamUser',
      expect.stringMatching(/^mainDatabaseResourceId must be the DbiResourceId \(db-…\) or DbClusterResourceId/),
    ]);
    expect(problems({ mainDatabaseHost: 'db.internal', mainDatabaseName: 'app' })).toEqual([
      'mainDatabaseHost, mainDatabaseName go with mainDatabaseIamUser (IAM database authentication)',
    ]);
  });
});
