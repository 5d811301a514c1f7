// The other shape of deployment: an existing VPC that already has its endpoints, an internal load
// balancer reached from the corporate network, no WAF, single-AZ database, an egress proxy for the
// identity provider, an audit-anchor bucket, pinned to one account. Synthesized once for the file.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acknowledgements,
  nagFindings,
  referencedId,
  resourcesOfType,
  synthesize,
  type CfnResource,
  type Synthesized,
} from './helpers.js';

const CONTEXT = {
  account: '123456789012',
  region: 'eu-west-1',
  vpcId: 'vpc-0123456789abcdef0',
  vpcCidr: '10.20.0.0/16',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2',
  privateRouteTableIds: 'rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2',
  internetFacing: 'false',
  allowedCidrs: '10.0.0.0/8',
  waf: 'false',
  toolsDatabaseMultiAz: 'false',
  toolsDatabaseBackupRetentionDays: '14',
  auditAnchorBucket: 'true',
  egressProxyUrl: 'http://proxy.corp.internal:3128',
  egressProxyCidr: '10.99.0.0/24',
  domainName: 'porthole.corp.internal',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
  oidcIssuerUrl: 'https://sso.corp.internal/realms/staff',
  oidcClientId: 'porthole-prod',
  mainDatabaseSecurityGroupId: 'sg-0123456789abcdef0',
  oidcGroupsClaim: 'roles',
  adminGroups: 'porthole-admins',
  defaultRole: 'viewer',
};

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize(CONTEXT);
});
const props = (resource: CfnResource) => resource.Properties ?? {};

describe('an existing VPC', () => {
  it('creates no network of its own and runs the tasks in the given private subnets', () => {
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::EC2::VPCEndpoint',
      'AWS::EC2::NatGateway',
      'AWS::EC2::InternetGateway',
    ]) {
      synth.template.resourceCountIs(type, 0);
    }
    synth.template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: { AssignPublicIp: 'DISABLED', Subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'] },
      },
    });
    expect(synth.stack.account).toBe('123456789012');
    expect(synth.stack.region).toBe('eu-west-1');
  });

  it('puts an internal load balancer in the private subnets, open to the corporate range only', () => {
    synth.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    });
    const [, group] = resourcesOfType(synth.resources, 'AWS::EC2::SecurityGroup').find(([id]) =>
      id.includes('LoadBalancerSecurityGroup'),
    )!;
    const ingress = props(group).SecurityGroupIngress as Array<{ CidrIp: string; FromPort: number }>;
    expect(ingress.map((rule) => `${rule.CidrIp}:${rule.FromPort}`).sort()).toEqual(['10.0.0.0/8:443', '10.0.0.0/8:80']);
    synth.template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it('reaches the identity provider through the egress proxy', () => {
    const [, task] = resourcesOfType(synth.resources, 'AWS::ECS::TaskDefinition').find(
      ([, r]) => props(r).Family === 'porthole',
    )!;
    const [container] = props(task).ContainerDefinitions as Array<{ Environment: Array<{ Name: string; Value: string }> }>;
    const environment = Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value]));
    expect(environment).toMatchObject({
      NODE_USE_ENV_PROXY: '1',
      HTTPS_PROXY: 'http://proxy.corp.internal:3128',
      TRUST_PROXY: '10.20.0.0/16',
    });
    synth.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Porthole tasks: in from the load balancer; out to the databases and AWS endpoints only',
      SecurityGroupEgress: [
        {
          CidrIp: '0.0.0.0/0',
          FromPort: 443,
          ToPort: 443,
          IpProtocol: 'tcp',
          Description: 'HTTPS to VPC endpoints and S3 (no internet route)',
        },
        {
          CidrIp: '10.20.0.0/16',
          FromPort: 587,
          ToPort: 587,
          IpProtocol: 'tcp',
          Description: 'SMTP to the SES endpoint',
        },
        {
          CidrIp: '10.99.0.0/24',
          FromPort: 3128,
          ToPort: 3128,
          IpProtocol: 'tcp',
          Description: 'To the egress proxy (identity provider, Slack, webhooks)',
        },
      ],
    });
  });
});

describe('options', () => {
  it('runs a single-AZ tools database with the chosen backup retention, still encrypted and private', () => {
    synth.template.hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: false,
      BackupRetentionPeriod: 14,
      StorageEncrypted: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
    });
  });

  it('keeps audit anchors in an Object Lock bucket in compliance mode', () => {
    const buckets = resourcesOfType(synth.resources, 'AWS::S3::Bucket').map(([, r]) => props(r));
    const anchors = buckets.find((bucket) => bucket.ObjectLockEnabled === true)!;
    expect(anchors).toMatchObject({
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } } },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { LogFilePrefix: 'audit-anchors/' },
    });
    expect(JSON.stringify(anchors.BucketEncryption)).toContain('aws:kms');
    expect(referencedId((anchors.LoggingConfiguration as { DestinationBucketName: unknown }).DestinationBucketName)).toMatch(
      /AccessLogs/,
    );
  });

  it('has the tasks write the hourly anchors there: AUDIT_ANCHOR_BUCKET, put with retention, nothing that deletes', () => {
    const task = resourcesOfType(synth.resources, 'AWS::ECS::TaskDefinition').find(([, r]) => props(r).Family === 'porthole')!;
    const [container] = props(task[1]).ContainerDefinitions as Array<{ Environment: Array<{ Name: string }> }>;
    expect(container!.Environment.map((e) => e.Name)).toContain('AUDIT_ANCHOR_BUCKET');
    const policies = JSON.stringify(resourcesOfType(synth.resources, 'AWS::IAM::Policy').map(([, r]) => props(r)));
    expect(policies).toContain('s3:PutObjectRetention');
    expect(policies).not.toMatch(/s3:DeleteObject|s3:BypassGovernanceRetention|s3:\*/);
  });

  it('passes cdk-nag, acknowledging single-AZ and nothing that does not apply', () => {
    expect(nagFindings(synth.app)).toEqual([]);
    const rules = acknowledgements(synth.app).map((a) => a.rule);
    expect(rules).toContain('AwsSolutions-RDS3');
    expect(rules).not.toContain('AwsSolutions-EC23'); // nothing is open to the world here
    const raw = nagFindings(synth.app, { ignoringAcknowledgements: true });
    for (const a of acknowledgements(synth.app).filter((x) => x.rule.startsWith('AwsSolutions-'))) {
      expect(
        raw.some((f) => f.rule === a.rule && (f.path === a.path || f.path.startsWith(`${a.path}/`))),
        `${a.rule} at ${a.path}`,
      ).toBe(true);
    }
  });
});
