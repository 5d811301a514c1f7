// The default deployment (a new VPC, WAF, Multi-AZ), synthesized once for the whole file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { INTERFACE_ENDPOINTS } from '../lib/network.js';
import {
  acknowledgements,
  nagFindings,
  referencedId,
  resourcesOfType,
  synthesize,
  type CfnResource,
  type Synthesized,
} from './helpers.js';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

const props = (resource: CfnResource) => resource.Properties ?? {};
const one = (type: string): [string, CfnResource] => {
  const found = resourcesOfType(synth.resources, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

interface ContainerDefinition {
  Name: string;
  Environment?: Array<{ Name: string; Value: unknown }>;
  Secrets?: Array<{ Name: string; ValueFrom: unknown }>;
  ReadonlyRootFilesystem?: boolean;
  User?: string;
  HealthCheck?: { Command: string[] };
  MountPoints?: Array<{ ContainerPath: string; SourceVolume: string; ReadOnly: boolean }>;
  LogConfiguration?: { LogDriver: string; Options: Record<string, unknown> };
}

function taskDefinition(family: string): { id: string; container: ContainerDefinition; properties: Record<string, unknown> } {
  const [id, resource] = resourcesOfType(synth.resources, 'AWS::ECS::TaskDefinition').find(
    ([, r]) => props(r).Family === family,
  )!;
  const containers = props(resource).ContainerDefinitions as ContainerDefinition[];
  expect(containers).toHaveLength(1);
  return { id, container: containers[0]!, properties: props(resource) };
}

describe('network', () => {
  it('has the interface endpoints the tasks need and an S3 gateway endpoint', () => {
    const endpoints = resourcesOfType(synth.resources, 'AWS::EC2::VPCEndpoint').map(([, r]) => props(r));
    const interfaces = endpoints.filter((e) => e.VpcEndpointType === 'Interface').map((e) => e.ServiceName);
    expect(interfaces.sort()).toEqual(
      ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'ssm', 'kms', 'email-smtp']
        .map((service) => `com.amazonaws.eu-west-2.${service}`)
        .sort(),
    );
    expect(Object.keys(INTERFACE_ENDPOINTS)).toHaveLength(7);
    for (const endpoint of endpoints.filter((e) => e.VpcEndpointType === 'Interface'))
      expect(endpoint.PrivateDnsEnabled).toBe(true);
    const gateways = endpoints.filter((e) => e.VpcEndpointType === 'Gateway');
    expect(gateways).toHaveLength(1);
    expect(JSON.stringify(gateways[0]!.ServiceName)).toMatch(/\.s3"/);
  });

  it('has no NAT gateway, and only the public subnets route to the internet', () => {
    synth.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const defaultRoutes = resourcesOfType(synth.resources, 'AWS::EC2::Route').filter(
      ([, r]) => props(r).DestinationCidrBlock === '0.0.0.0/0',
    );
    const publicRouteTables = new Set(
      resourcesOfType(synth.resources, 'AWS::EC2::SubnetRouteTableAssociation')
        .filter(([id]) => id.includes('publicSubnet'))
        .map(([, r]) => referencedId(props(r).RouteTableId)),
    );
    expect(defaultRoutes).toHaveLength(2);
    for (const [, route] of defaultRoutes) {
      expect(publicRouteTables.has(referencedId(props(route).RouteTableId))).toBe(true);
      expect(Object.keys(props(route))).not.toContain('NatGatewayId');
    }
    for (const [, subnet] of resourcesOfType(synth.resources, 'AWS::EC2::Subnet'))
      expect(props(subnet).MapPublicIpOnLaunch).toBe(false);
  });

  it('admits 0.0.0.0/0 only to the load balancer, on 443 and the port-80 redirect', () => {
    const [albSecurityGroupId] = resourcesOfType(synth.resources, 'AWS::EC2::SecurityGroup').find(([id]) =>
      id.includes('LoadBalancerSecurityGroup'),
    )!;
    const open: string[] = [];
    const isWorld = (rule: Record<string, unknown>) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0';
    for (const [id, group] of resourcesOfType(synth.resources, 'AWS::EC2::SecurityGroup')) {
      for (const rule of (props(group).SecurityGroupIngress as Array<Record<string, unknown>> | undefined) ?? []) {
        if (isWorld(rule)) open.push(`${id}:${String(rule.FromPort)}-${String(rule.ToPort)}`);
      }
    }
    for (const [, rule] of resourcesOfType(synth.resources, 'AWS::EC2::SecurityGroupIngress')) {
      if (isWorld(props(rule)))
        open.push(`${String(referencedId(props(rule).GroupId))}:${String(props(rule).FromPort)}-${String(props(rule).ToPort)}`);
    }
    expect(open.sort()).toEqual([`${albSecurityGroupId}:443-443`, `${albSecurityGroupId}:80-80`]);
  });

  it('lets the tasks reach the tools database and the main database security group on 5432', () => {
    const [taskGroupId] = resourcesOfType(synth.resources, 'AWS::EC2::SecurityGroup').find(([id]) =>
      id.includes('TaskSecurityGroup'),
    )!;
    const ingress = resourcesOfType(synth.resources, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => props(r));
    const fromTasks = ingress.filter((rule) => referencedId(rule.SourceSecurityGroupId) === taskGroupId);
    const targets = fromTasks.map((rule) => [referencedId(rule.GroupId) ?? rule.GroupId, rule.FromPort, rule.ToPort]);
    expect(targets).toEqual(
      expect.arrayContaining([
        ['sg-00000000000000000', 5432, 5432],
        [expect.stringMatching(/^ToolsDatabaseSecurityGroup/), 5432, 5432],
      ]),
    );
    // The tasks accept connections from the load balancer on the container port only.
    const intoTasks = ingress.filter((rule) => referencedId(rule.GroupId) === taskGroupId);
    expect(intoTasks.map((rule) => [referencedId(rule.SourceSecurityGroupId), rule.FromPort, rule.ToPort])).toEqual([
      [expect.stringMatching(/LoadBalancerSecurityGroup/), 3000, 3000],
    ]);
  });
});

describe('service', () => {
  it('runs at least two tasks without public IPs in the private subnets, with rollback on failed deployments', () => {
    const [, service] = one('AWS::ECS::Service');
    expect(props(service)).toMatchObject({
      DesiredCount: 2,
      LaunchType: 'FARGATE',
      EnableExecuteCommand: false,
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
    const subnets = (props(service).NetworkConfiguration as { AwsvpcConfiguration: { Subnets: unknown[] } }).AwsvpcConfiguration
      .Subnets;
    expect(subnets.map(referencedId)).toEqual([expect.stringMatching(/appSubnet1/), expect.stringMatching(/appSubnet2/)]);
  });

  it('scales on CPU and memory between 2 and 6 tasks', () => {
    synth.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
    const metrics = resourcesOfType(synth.resources, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(
      ([, r]) =>
        (props(r).TargetTrackingScalingPolicyConfiguration as { PredefinedMetricSpecification: { PredefinedMetricType: string } })
          .PredefinedMetricSpecification.PredefinedMetricType,
    );
    expect(metrics.sort()).toEqual(['ECSServiceAverageCPUUtilization', 'ECSServiceAverageMemoryUtilization']);
  });

  it('runs the container read-only as the image user, checks /healthz, and gives it /tmp', () => {
    const { container, properties } = taskDefinition('porthole');
    expect(container).toMatchObject({
      ReadonlyRootFilesystem: true,
      User: '10001:10001',
      HealthCheck: { Command: ['CMD', 'node', '/app/healthcheck.mjs'] },
      MountPoints: [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }],
    });
    expect(properties.Volumes).toEqual([{ Name: 'tmp' }]);
  });

  it('injects every secret from Secrets Manager and none through the plain environment', () => {
    const { container } = taskDefinition('porthole');
    const secretNames = (container.Secrets ?? []).map((s) => s.Name).sort();
    expect(secretNames).toEqual([
      'MAIN_DATABASE_URL',
      'OIDC_CLIENT_SECRET',
      'SESSION_SECRET',
      'SMTP_SECRET',
      'TOOLS_DATABASE_SECRET',
      'TOOLS_MIGRATION_SECRET',
    ]);
    const secretResources = new Set(resourcesOfType(synth.resources, 'AWS::SecretsManager::Secret').map(([id]) => id));
    const attachments = new Set(
      resourcesOfType(synth.resources, 'AWS::SecretsManager::SecretTargetAttachment').map(([id]) => id),
    );
    for (const secret of container.Secrets ?? []) {
      const id = referencedId(secret.ValueFrom)!;
      expect(secretResources.has(id) || attachments.has(id), `${secret.Name} comes from a secret of this stack`).toBe(true);
    }
    const environment = container.Environment ?? [];
    const sensitive = /SECRET|PASSWORD|TOKEN|_KEY$|DATABASE_URL|MIGRATION_URL/;
    expect(environment.map((e) => e.Name).filter((name) => sensitive.test(name))).toEqual([]);
    for (const { Value } of environment) expect(JSON.stringify(Value)).not.toMatch(/postgres(ql)?:\/\/|resolve:secretsmanager/);
    expect(Object.fromEntries(environment.map((e) => [e.Name, e.Value]))).toMatchObject({
      PUBLIC_URL: 'https://porthole.example.com',
      OIDC_ISSUER_URL: 'https://login.example.com',
      OIDC_CLIENT_ID: 'porthole',
      TRUST_PROXY: '10.60.0.0/16',
    });
  });

  it('verifies every database certificate (verify-full with the RDS CA bundle the image carries), also in the setup task', () => {
    for (const family of ['porthole', 'porthole-setup']) {
      const found = resourcesOfType(synth.resources, 'AWS::ECS::TaskDefinition').find(([, r]) => props(r).Family === family);
      expect(found, family).toBeDefined();
      const container = (props(found![1]).ContainerDefinitions as ContainerDefinition[])[0]!;
      const environment = Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, e.Value]));
      expect(environment, family).toMatchObject({
        TOOLS_DATABASE_SSLMODE: 'verify-full',
        DATABASE_CA_FILE: '/app/certs/rds-ca-bundle.pem',
      });
    }
    expect(JSON.stringify(synth.resources)).not.toMatch(/no-verify/);
  });

  it('gives the service no AWS permissions and lets each execution role read only its own secrets', () => {
    const { properties: service } = taskDefinition('porthole');
    const { properties: setup } = taskDefinition('porthole-setup');
    const policies = resourcesOfType(synth.resources, 'AWS::IAM::Policy').map(([, r]) => props(r));
    const attachedTo = (roleId: string) => policies.filter((p) => (p.Roles as unknown[]).map(referencedId).includes(roleId));
    expect(attachedTo(referencedId(service.TaskRoleArn)!)).toEqual([]);
    expect(attachedTo(referencedId(setup.TaskRoleArn)!)).toEqual([]);

    const statements = (roleId: string) =>
      attachedTo(roleId).flatMap(
        (p) => (p.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement,
      );
    const secretsReadBy = (roleId: string) =>
      statements(roleId)
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => [s.Resource].flat().map(referencedId))
        .sort();
    expect(secretsReadBy(referencedId(service.ExecutionRoleArn)!)).toEqual([
      expect.stringMatching(/^MainDatabaseUrl/),
      expect.stringMatching(/^OidcClientSecret/),
      expect.stringMatching(/^SessionSecret/),
      expect.stringMatching(/^SmtpCredentials/),
      expect.stringMatching(/^ToolsDatabaseAppSecretAttachment/),
      expect.stringMatching(/^ToolsDatabaseOwnerSecretAttachment/),
    ]);
    // Only the setup task may read the master user's secret.
    expect(secretsReadBy(referencedId(setup.ExecutionRoleArn)!)).toEqual([
      expect.stringMatching(/^ToolsDatabaseAppSecretAttachment/),
      expect.stringMatching(/^ToolsDatabaseInstanceSecretAttachment/),
      expect.stringMatching(/^ToolsDatabaseOwnerSecretAttachment/),
    ]);
    // The one wildcard resource is the ECR login, which has no resource-level permission.
    for (const role of [service.ExecutionRoleArn, setup.ExecutionRoleArn]) {
      const wildcards = statements(referencedId(role)!).filter((s) => [s.Resource].flat().includes('*'));
      expect(wildcards.map((s) => s.Action)).toEqual(['ecr:GetAuthorizationToken']);
    }
  });

  it('sends container logs to a log group with retention, and every log group has one', () => {
    const { container } = taskDefinition('porthole');
    expect(container.LogConfiguration?.LogDriver).toBe('awslogs');
    const group = referencedId(container.LogConfiguration?.Options['awslogs-group']);
    const logGroups = resourcesOfType(synth.resources, 'AWS::Logs::LogGroup');
    expect(logGroups.map(([id]) => id)).toContain(group);
    expect(logGroups.length).toBeGreaterThanOrEqual(4); // service, VPC flow logs, PostgreSQL, WAF
    for (const [id, logGroup] of logGroups) {
      expect(props(logGroup).RetentionInDays, id).toBe(365);
      expect(props(logGroup).KmsKeyId, id).toBeDefined();
    }
  });
});

describe('load balancer', () => {
  it('serves HTTPS with the certificate and redirects HTTP', () => {
    synth.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/00000000-0000-0000-0000-000000000000' }],
      SslPolicy: Match.stringLikeRegexp('TLS13'),
    });
    synth.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
    synth.template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
  });

  it('does not serve the Prometheus metrics to the outside', () => {
    synth.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 1,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/metrics', '/metrics/*'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
    });
  });

  it('checks the tasks on /healthz, drops invalid headers and logs access', () => {
    synth.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 3000,
      HealthCheckPath: '/healthz',
      Matcher: { HttpCode: '200' },
      TargetType: 'ip',
    });
    const [, alb] = one('AWS::ElasticLoadBalancingV2::LoadBalancer');
    const attributes = Object.fromEntries(
      (props(alb).LoadBalancerAttributes as Array<{ Key: string; Value: string }>).map((a) => [a.Key, a.Value]),
    );
    expect(attributes).toMatchObject({
      'routing.http.drop_invalid_header_fields.enabled': 'true',
      'access_logs.s3.enabled': 'true',
      'deletion_protection.enabled': 'true',
    });
    expect(props(alb).Scheme).toBe('internet-facing');
    // Interactive runs end (or time out) before the load balancer would drop their idle connection.
    expect(Number(attributes['idle_timeout.timeout_seconds']) * 1000).toBeGreaterThan(loadConfig({}).engine.queryTimeoutMs);
  });

  it('sits behind a WAF that does not block SQL in request bodies', () => {
    const [, acl] = one('AWS::WAFv2::WebACL');
    const rules = props(acl).Rules as Array<{
      Name: string;
      Statement: { ManagedRuleGroupStatement?: { Name: string; RuleActionOverrides?: Array<{ Name: string }> } };
    }>;
    expect(rules.map((r) => r.Name)).not.toContain('AWSManagedRulesSQLiRuleSet');
    const common = rules.find((r) => r.Name === 'AWSManagedRulesCommonRuleSet')!;
    expect(common.Statement.ManagedRuleGroupStatement!.RuleActionOverrides!.map((o) => o.Name)).toContain(
      'SizeRestrictions_BODY',
    );
    one('AWS::WAFv2::WebACLAssociation');
    synth.template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      RedactedFields: [{ SingleHeader: { Name: 'cookie' } }, { SingleHeader: { Name: 'authorization' } }],
    });
  });
});

describe('tools database', () => {
  it('is private, encrypted, backed up for 35 days, Multi-AZ and protected from deletion', () => {
    const [, instance] = one('AWS::RDS::DBInstance');
    expect(props(instance)).toMatchObject({
      Engine: 'postgres',
      PubliclyAccessible: false,
      StorageEncrypted: true,
      BackupRetentionPeriod: 35,
      MultiAZ: true,
      DeletionProtection: true,
      Port: '5432',
      EnableCloudwatchLogsExports: ['postgresql'],
      CACertificateIdentifier: 'rds-ca-rsa2048-g1', // in the image's bundle: verify-full succeeds
    });
    expect(props(instance).KmsKeyId).toBeDefined();
    const [, subnetGroup] = one('AWS::RDS::DBSubnetGroup');
    expect((props(subnetGroup).SubnetIds as unknown[]).map(referencedId)).toEqual([
      expect.stringMatching(/dataSubnet1/),
      expect.stringMatching(/dataSubnet2/),
    ]);
  });

  it('keeps the master credentials in Secrets Manager and rotates them every 30 days', () => {
    const [, instance] = one('AWS::RDS::DBInstance');
    expect(props(instance).MasterUsername).toBe('porthole_admin');
    // A dynamic reference resolved by CloudFormation at deploy time: the password is never in the template.
    expect(JSON.stringify(props(instance).MasterUserPassword)).toMatch(
      /\{\{resolve:secretsmanager:.*:SecretString:password::\}\}/,
    );
    synth.template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    one('AWS::Serverless::Application');
  });
});

describe('alarms', () => {
  it('alarm on 5XX, unhealthy tasks, service CPU and memory, database CPU and storage, a broken audit chain, into one SNS topic', () => {
    const [topicId, topic] = one('AWS::SNS::Topic');
    expect(props(topic).KmsMasterKeyId).toBeDefined();
    const alarms = resourcesOfType(synth.resources, 'AWS::CloudWatch::Alarm').map(([, r]) => props(r));
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(
      [
        'AuditChainBroken',
        'CPUUtilization',
        'CPUUtilization',
        'FreeStorageSpace',
        'HTTPCode_ELB_5XX_Count',
        'HTTPCode_Target_5XX_Count',
        'MemoryUtilization',
        'UnHealthyHostCount',
      ].sort(),
    );
    for (const alarm of alarms) expect((alarm.AlarmActions as unknown[]).map(referencedId)).toEqual([topicId]);
    const [, filter] = one('AWS::Logs::MetricFilter');
    expect(props(filter).FilterPattern).toBe('{ $.msg = "audit chain broken" }');
  });
});

describe('cdk-nag (AWS Solutions)', () => {
  it('has no unacknowledged findings', () => {
    expect(nagFindings(synth.app)).toEqual([]);
  });

  it('acknowledges only findings that exist, each with a written reason', () => {
    const raw = nagFindings(synth.app, { ignoringAcknowledgements: true });
    const ours = acknowledgements(synth.app).filter((a) => a.rule.startsWith('AwsSolutions-'));
    expect(ours.length).toBeGreaterThan(0);
    for (const acknowledgement of ours) {
      expect(acknowledgement.reason.length, `${acknowledgement.rule} at ${acknowledgement.path}`).toBeGreaterThanOrEqual(60);
      const covered = raw.filter(
        (f) =>
          f.rule === acknowledgement.rule && (f.path === acknowledgement.path || f.path.startsWith(`${acknowledgement.path}/`)),
      );
      expect(covered.length, `${acknowledgement.rule} at ${acknowledgement.path} covers a finding`).toBeGreaterThan(0);
    }
  });
});

describe('the template', () => {
  it('needs no assets and no bootstrap version check, so plain CloudFormation can deploy it', () => {
    const template = synth.template.toJSON() as { Parameters?: Record<string, unknown>; Rules?: unknown };
    expect(Object.keys(template.Parameters ?? {})).toEqual(['ImageTag']);
    expect(template.Rules).toBeUndefined();
    const assembly = synth.app.synth();
    const manifest = JSON.parse(readFileSync(path.join(assembly.directory, `${synth.stack.artifactId}.assets.json`), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
      dockerImages: Record<string, unknown>;
    };
    expect(Object.values(manifest.files).map((file) => file.source.path)).toEqual([synth.stack.templateFile]);
    expect(manifest.dockerImages).toEqual({});
    const lambdas = resourcesOfType(synth.resources, 'AWS::Lambda::Function');
    expect(lambdas).toEqual([]);
  });
});
