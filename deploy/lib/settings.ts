// What one Porthole deployment is made of, read from CDK context (`-c key=value` or cdk.json) and
// validated once, so a typo stops the synth with one list of problems instead of a failed deploy.
// Nothing here looks anything up in AWS: the template is synthesized offline, without credentials.
import type { Node } from 'constructs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export interface ImportedVpcSettings {
  vpcId: string;
  cidr: string;
  availabilityZones: string[];
  /** Subnets without a route to the internet, one per zone: the tasks and the tools database go here. */
  privateSubnetIds: string[];
  privateRouteTableIds: string[];
  /** Only the load balancer goes here (when internet-facing). */
  publicSubnetIds: string[];
  /** Create the VPC endpoints; false when the VPC already has them (private DNS names can exist only once). */
  createEndpoints: boolean;
}

export interface PortholeSettings {
  /** Region is required (load balancer log delivery and the endpoints' service names depend on it). */
  region: string;
  /**
   * Optional: pins the stacks to one account. Without it the template deploys into any account; with
   * it, zone names must be given (availabilityZones), since looking them up would need AWS access.
   */
  account?: string;
  /** The name users reach; PUBLIC_URL is https://<domainName>. */
  domainName: string;
  /** An ACM certificate for domainName in the same region. */
  certificateArn: string;
  oidcIssuerUrl: string;
  oidcClientId: string;
  /** Passed through to the server as-is (README "Single sign-on"); unset ones keep the server's defaults. */
  signIn: {
    oidcScopes?: string;
    oidcGroupsClaim?: string;
    adminEmails?: string;
    adminGroups?: string;
    viewerGroups?: string;
    defaultRole?: string;
  };
  /** The main database's security group: the stack allows its port in from the tasks. */
  mainDatabaseSecurityGroupId: string;
  /** The main database's port (the security group rule; the IAM connection). */
  mainDatabasePort: number;
  /**
   * IAM database authentication for the main database (mainDatabaseIamUser): no reader password exists;
   * the task role may rds-db:connect as exactly this user of exactly this database.
   */
  mainDatabaseIam?: { user: string; host: string; database: string; resourceId: string };
  /** A new VPC in the given zones (none: the region's first two, resolved at deploy time) or an existing one. */
  vpc: { kind: 'new'; cidr: string; availabilityZones: string[] } | ({ kind: 'imported' } & ImportedVpcSettings);
  /** Where users may reach the load balancer from. */
  allowedCidrs: string[];
  internetFacing: boolean;
  waf: boolean;
  service: { desiredCount: number; maxCount: number; cpu: number; memoryMiB: number; arm64: boolean };
  toolsDatabase: {
    instanceType: string;
    multiAz: boolean;
    backupRetentionDays: number;
    allocatedStorageGiB: number;
    maxAllocatedStorageGiB: number;
  };
  logRetentionDays: RetentionDays;
  alarmEmail?: string;
  auditAnchors: { enabled: boolean; retentionDays: number };
  imageRepositoryName: string;
  /**
   * An HTTPS proxy for the calls that leave the VPC: the identity provider's token and key endpoints
   * (not needed when the provider is reachable privately), and Slack and outside webhook alerts.
   */
  egressProxy?: { url: string; cidr: string };
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Porthole deployment settings are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/**
 * Values that let `npm run synth` work out of the box. A deployment must override each of them;
 * settingsFromContext reports which ones are still in use.
 */
export const PLACEHOLDERS = {
  domainName: 'porthole.example.com',
  certificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/00000000-0000-0000-0000-000000000000',
  oidcIssuerUrl: 'https://login.example.com',
  oidcClientId: 'porthole',
  mainDatabaseSecurityGroupId: 'sg-00000000000000000',
} as const;

const RETENTION_DAYS = new Set(Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'));

type Context = (key: string) => unknown;

class ContextReader {
  readonly problems: string[] = [];
  readonly placeholders: string[] = [];
  constructor(private readonly get: Context) {}

  string(key: string, fallback?: string): string | undefined {
    const value = this.get(key);
    if (value === undefined || value === '') return fallback;
    if (typeof value !== 'string') {
      this.problems.push(`${key} must be a string`);
      return fallback;
    }
    return value.trim();
  }

  required(key: keyof typeof PLACEHOLDERS): string {
    const value = this.string(key);
    if (value !== undefined) return value;
    this.placeholders.push(key);
    return PLACEHOLDERS[key];
  }

  number(key: string, fallback: number, min: number, max: number): number {
    const raw = this.get(key);
    if (raw === undefined || raw === '') return fallback;
    const value = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const raw = this.get(key);
    if (raw === undefined || raw === '') return fallback;
    if (raw === true || raw === 'true') return true;
    if (raw === false || raw === 'false') return false;
    this.problems.push(`${key} must be true or false (got ${JSON.stringify(raw)})`);
    return fallback;
  }

  /** A list: a JSON array (cdk.json) or a comma-separated string (-c key=a,b). */
  list(key: string, fallback: string[] = []): string[] {
    const raw = this.get(key);
    if (raw === undefined || raw === '') return fallback;
    if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return raw.map((item) => item.trim());
    if (typeof raw === 'string') {
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    }
    this.problems.push(`${key} must be a list of strings`);
    return fallback;
  }

  check(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }
}

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

function readVpc(r: ContextReader): PortholeSettings['vpc'] {
  const vpcId = r.string('vpcId');
  if (vpcId === undefined) {
    const cidr = r.string('vpcCidr', '10.60.0.0/16')!;
    r.check(CIDR.test(cidr), `vpcCidr must be an IPv4 CIDR (got "${cidr}")`);
    const availabilityZones = r.list('availabilityZones');
    r.check(availabilityZones.length === 0 || availabilityZones.length >= 2, 'availabilityZones must list at least two zones');
    return { kind: 'new', cidr, availabilityZones };
  }
  const imported = {
    kind: 'imported' as const,
    vpcId,
    cidr: r.string('vpcCidr') ?? '',
    availabilityZones: r.list('availabilityZones'),
    privateSubnetIds: r.list('privateSubnetIds'),
    privateRouteTableIds: r.list('privateRouteTableIds'),
    publicSubnetIds: r.list('publicSubnetIds'),
    createEndpoints: r.boolean('createEndpoints', false),
  };
  r.check(CIDR.test(imported.cidr), "vpcCidr (the imported VPC's CIDR) is required with vpcId");
  const zones = imported.availabilityZones.length;
  r.check(zones >= 2, 'availabilityZones must list at least two zones with vpcId');
  r.check(imported.privateSubnetIds.length === zones, 'privateSubnetIds must list one subnet per availability zone');
  r.check(
    imported.privateRouteTableIds.length === zones,
    'privateRouteTableIds must list the route table of each private subnet (for the S3 gateway endpoint)',
  );
  return imported;
}

/**
 * mainDatabaseIamUser turns on IAM database authentication for the main database. The policy names the
 * database by its resource id (DbiResourceId of an instance, db-…; DbClusterResourceId of an Aurora
 * cluster, cluster-…), which cannot be looked up offline, and the host and database name the tasks connect to.
 */
function readMainDatabaseIam(r: ContextReader): PortholeSettings['mainDatabaseIam'] {
  const user = r.string('mainDatabaseIamUser');
  const host = r.string('mainDatabaseHost');
  const database = r.string('mainDatabaseName');
  const resourceId = r.string('mainDatabaseResourceId');
  if (user === undefined) {
    const stray = [
      ['mainDatabaseHost', host],
      ['mainDatabaseName', database],
      ['mainDatabaseResourceId', resourceId],
    ].filter(([, value]) => value !== undefined);
    r.check(
      stray.length === 0,
      `${stray.map(([key]) => key).join(', ')} go with mainDatabaseIamUser (IAM database authentication)`,
    );
    return undefined;
  }
  r.check(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(user), `mainDatabaseIamUser must be a plain database user name (got "${user}")`);
  r.check(host !== undefined, 'mainDatabaseHost (the main database endpoint) is required with mainDatabaseIamUser');
  r.check(database !== undefined, 'mainDatabaseName (the database to read) is required with mainDatabaseIamUser');
  r.check(
    resourceId !== undefined && /^(db|cluster)-[A-Z0-9]{10,}$/.test(resourceId),
    'mainDatabaseResourceId must be the DbiResourceId (db-…) or DbClusterResourceId (cluster-…) of the main database, from aws rds describe-db-instances / describe-db-clusters',
  );
  if (host !== undefined) r.check(/^[A-Za-z0-9.-]+$/.test(host), `mainDatabaseHost must be a host name (got "${host}")`);
  return { user, host: host ?? '', database: database ?? '', resourceId: resourceId ?? '' };
}

export interface SettingsFromContext {
  settings: PortholeSettings;
  /** Settings still at their PLACEHOLDERS value: fine for a synth, wrong for a deployment. */
  placeholders: string[];
}

export function settingsFromContext(node: Pick<Node, 'tryGetContext'>): SettingsFromContext {
  const r = new ContextReader((key) => node.tryGetContext(key));
  const vpc = readVpc(r);
  const internetFacing = r.boolean('internetFacing', true);
  const desiredCount = r.number('desiredCount', 2, 0, 100);
  r.check(desiredCount === 0 || desiredCount >= 2, 'desiredCount must be at least 2 (two zones), or 0 for the first deploy');
  const maxCount = r.number('maxCount', 6, 2, 200);
  r.check(maxCount >= desiredCount, 'maxCount must be at least desiredCount');
  const logRetentionDays = r.number('logRetentionDays', 365, 1, 3653);
  r.check(
    RETENTION_DAYS.has(logRetentionDays),
    `logRetentionDays must be one CloudWatch offers (${[...RETENTION_DAYS].join(', ')})`,
  );
  const allowedCidrs = r.list('allowedCidrs', ['0.0.0.0/0']);
  for (const cidr of allowedCidrs) r.check(CIDR.test(cidr), `allowedCidrs: "${cidr}" is not an IPv4 CIDR`);
  if (vpc.kind === 'imported' && internetFacing) {
    r.check(
      vpc.publicSubnetIds.length >= 2,
      'publicSubnetIds must list at least two subnets for an internet-facing load balancer',
    );
  }

  const mainDatabasePort = r.number('mainDatabasePort', 5432, 1, 65535);
  const mainDatabaseIam = readMainDatabaseIam(r);

  const proxyUrl = r.string('egressProxyUrl');
  const proxyCidr = r.string('egressProxyCidr');
  r.check((proxyUrl === undefined) === (proxyCidr === undefined), 'egressProxyUrl and egressProxyCidr go together');
  if (proxyUrl !== undefined)
    r.check(/^http:\/\/[^/]+:\d+\/?$/.test(proxyUrl), 'egressProxyUrl must look like http://proxy.internal:3128');
  if (proxyCidr !== undefined) r.check(CIDR.test(proxyCidr), 'egressProxyCidr must be an IPv4 CIDR');

  const settings: PortholeSettings = {
    region: r.string('region', 'eu-west-2')!,
    account: r.string('account'),
    domainName: r.required('domainName'),
    certificateArn: r.required('certificateArn'),
    oidcIssuerUrl: r.required('oidcIssuerUrl'),
    oidcClientId: r.required('oidcClientId'),
    signIn: {
      oidcScopes: r.string('oidcScopes'),
      oidcGroupsClaim: r.string('oidcGroupsClaim'),
      adminEmails: r.string('adminEmails'),
      adminGroups: r.string('adminGroups'),
      viewerGroups: r.string('viewerGroups'),
      defaultRole: r.string('defaultRole'),
    },
    mainDatabaseSecurityGroupId: r.required('mainDatabaseSecurityGroupId'),
    mainDatabasePort,
    mainDatabaseIam,
    vpc,
    allowedCidrs,
    internetFacing,
    waf: r.boolean('waf', true),
    service: {
      desiredCount,
      maxCount,
      cpu: r.number('cpu', 512, 256, 16384),
      memoryMiB: r.number('memoryMiB', 1024, 512, 122880),
      arm64: r.boolean('arm64', false),
    },
    toolsDatabase: {
      instanceType: r.string('toolsDatabaseInstanceType', 't4g.small')!,
      multiAz: r.boolean('toolsDatabaseMultiAz', true),
      backupRetentionDays: r.number('toolsDatabaseBackupRetentionDays', 35, 1, 35),
      allocatedStorageGiB: r.number('toolsDatabaseStorageGiB', 20, 20, 65536),
      maxAllocatedStorageGiB: r.number('toolsDatabaseMaxStorageGiB', 100, 20, 65536),
    },
    logRetentionDays: logRetentionDays as RetentionDays,
    alarmEmail: r.string('alarmEmail'),
    auditAnchors: {
      enabled: r.boolean('auditAnchorBucket', false),
      retentionDays: r.number('auditAnchorRetentionDays', 400, 1, 36500),
    },
    imageRepositoryName: r.string('imageRepositoryName', 'porthole')!,
    egressProxy: proxyUrl && proxyCidr ? { url: proxyUrl, cidr: proxyCidr } : undefined,
  };
  r.check(/^[a-z]{2}(-[a-z]+)+-\d$/.test(settings.region), `region must be an AWS region name (got "${settings.region}")`);
  if (settings.account !== undefined) {
    r.check(/^\d{12}$/.test(settings.account), 'account must be a 12-digit AWS account id');
    r.check(
      vpc.availabilityZones.length >= 2,
      'availabilityZones must be given with account (the zone names would otherwise need a lookup in that account)',
    );
  }
  r.check(/^arn:aws[\w-]*:acm:/.test(settings.certificateArn), 'certificateArn must be an ACM certificate ARN');
  r.check(/^https:\/\//.test(settings.oidcIssuerUrl), 'oidcIssuerUrl must use https');
  const role = settings.signIn.defaultRole;
  r.check(role === undefined || ['viewer', 'editor', 'admin'].includes(role), 'defaultRole must be viewer, editor or admin');
  r.check(
    /^sg-[0-9a-f]{8,17}$/.test(settings.mainDatabaseSecurityGroupId),
    'mainDatabaseSecurityGroupId must be a security group id',
  );
  r.check(
    settings.toolsDatabase.maxAllocatedStorageGiB >= settings.toolsDatabase.allocatedStorageGiB,
    'toolsDatabaseMaxStorageGiB must be at least toolsDatabaseStorageGiB',
  );
  if (r.problems.length) throw new SettingsError(r.problems);
  return { settings, placeholders: r.placeholders };
}
