// The Porthole service: Fargate tasks in the private subnets behind an HTTPS-only load balancer.
// Also the one-off setup task definition (docs/deploy.md) that creates the tools-database roles.
import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SMTP_PORT, type Network } from './network.js';
import type { PortholeSettings } from './settings.js';
import type { ToolsDatabase } from './tools-database.js';

/** The image's copy of Amazon's RDS CA bundle (Dockerfile) and verify-full for every database connection. */
export const DATABASE_TLS_ENVIRONMENT = {
  TOOLS_DATABASE_SSLMODE: 'verify-full',
  DATABASE_CA_FILE: '/app/certs/rds-ca-bundle.pem',
} as const;

export const CONTAINER_PORT = 3000;
/** The image's own check (deploy/container/healthcheck.mjs): slim images have no curl. */
const HEALTH_CHECK_COMMAND = ['CMD', 'node', '/app/healthcheck.mjs'];
/** Fargate has no tmpfs: /tmp is a task volume; the image declares VOLUME /tmp so it keeps mode 1777. */
const TMP_VOLUME = 'tmp';

const SIGN_IN_VARIABLES = {
  oidcScopes: 'OIDC_SCOPES',
  oidcGroupsClaim: 'OIDC_GROUPS_CLAIM',
  adminEmails: 'ADMIN_EMAILS',
  adminGroups: 'ADMIN_GROUPS',
  viewerGroups: 'VIEWER_GROUPS',
  defaultRole: 'DEFAULT_ROLE',
} as const;

function signInEnvironment(signIn: PortholeSettings['signIn']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(SIGN_IN_VARIABLES).flatMap(([key, name]) => {
      const value = signIn[key as keyof typeof SIGN_IN_VARIABLES];
      return value === undefined ? [] : [[name, value]];
    }),
  );
}

export interface ApplicationSecrets {
  sessionSecret: secretsmanager.ISecret;
  oidcClientSecret: secretsmanager.ISecret;
  smtpCredentials: secretsmanager.ISecret;
  /** Unset with IAM database authentication (settings.mainDatabaseIam): the reader has no password. */
  mainDatabaseUrl?: secretsmanager.ISecret;
}

export interface PortholeServiceProps {
  settings: PortholeSettings;
  network: Network;
  key: kms.IKey;
  toolsDatabase: ToolsDatabase;
  secrets: ApplicationSecrets;
  repository: ecr.IRepository;
  imageTag: string;
  mainDatabaseSecurityGroup: ec2.ISecurityGroup;
}

export class PortholeService extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly setupTaskDefinition: ecs.FargateTaskDefinition;
  readonly taskSecurityGroup: ec2.SecurityGroup;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly logGroup: logs.LogGroup;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PortholeServiceProps) {
    super(scope, id);
    const { settings, network, key, toolsDatabase, secrets } = props;
    const image = ecs.ContainerImage.fromEcrRepository(props.repository, props.imageTag);

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: network.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: settings.logRetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // --- network paths: ALB -> task :3000; task -> tools DB, main DB :5432; task -> endpoints :443 ----
    this.taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: network.vpc,
      description: 'Porthole tasks: in from the load balancer; out to the databases and AWS endpoints only',
      allowAllOutbound: false,
    });
    this.taskSecurityGroup.connections.allowTo(
      toolsDatabase.securityGroup,
      ec2.Port.tcp(5432),
      'Porthole tasks to the tools database',
    );
    this.taskSecurityGroup.connections.allowTo(
      props.mainDatabaseSecurityGroup,
      ec2.Port.tcp(settings.mainDatabasePort),
      'Porthole tasks to the main database (read-only role)',
    );
    // HTTPS out: the interface endpoints and the S3 gateway endpoint's prefix list (whose id cannot be
    // known offline). The private subnets have no route to the internet, so routing, not this rule,
    // decides what 443 can reach.
    this.taskSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to VPC endpoints and S3 (no internet route)',
    );
    network.endpointSecurityGroup?.addIngressRule(this.taskSecurityGroup, ec2.Port.tcp(443), 'HTTPS from Porthole tasks');
    // Alert emails to the SES SMTP endpoint; Slack and outside webhooks leave through the egress proxy (docs/deploy.md).
    this.taskSecurityGroup.addEgressRule(ec2.Peer.ipv4(network.vpcCidr), ec2.Port.tcp(SMTP_PORT), 'SMTP to the SES endpoint');
    network.endpointSecurityGroup?.addIngressRule(this.taskSecurityGroup, ec2.Port.tcp(SMTP_PORT), 'SMTP from Porthole tasks');
    if (settings.egressProxy) {
      const proxyPort = Number(new URL(settings.egressProxy.url).port);
      this.taskSecurityGroup.addEgressRule(
        ec2.Peer.ipv4(settings.egressProxy.cidr),
        ec2.Port.tcp(proxyPort),
        'To the egress proxy (identity provider, Slack, webhooks)',
      );
    }

    // --- the service's task definition ----------------------------------------------------------
    const runtimePlatform = {
      operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      cpuArchitecture: settings.service.arm64 ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
    };
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: 'porthole',
      cpu: settings.service.cpu,
      memoryLimitMiB: settings.service.memoryMiB,
      runtimePlatform,
      volumes: [{ name: TMP_VOLUME }],
    });
    const environment: Record<string, string> = {
      PUBLIC_URL: `https://${settings.domainName}`,
      OIDC_ISSUER_URL: settings.oidcIssuerUrl,
      OIDC_CLIENT_ID: settings.oidcClientId,
      // X-Forwarded-* is believed only from the load balancer, which lives in this VPC.
      TRUST_PROXY: network.vpcCidr,
      // Every database connection verifies the server's certificate and host name against Amazon's RDS
      // CA bundle, which the image carries (Dockerfile); a URL naming its own sslmode keeps it.
      ...DATABASE_TLS_ENVIRONMENT,
      LOG_LEVEL: 'info',
      SMTP_HOST: `email-smtp.${Stack.of(this).region}.amazonaws.com`,
      ALERT_FROM: `Porthole <porthole@${settings.domainName}>`,
      ...signInEnvironment(settings.signIn),
      ...(settings.egressProxy
        ? // Node 24's fetch honours these with NODE_USE_ENV_PROXY (the identity provider); Slack and webhook
          // deliveries read HTTPS_PROXY and NO_PROXY through the typed config (server/checks/egress-proxy.ts).
          {
            NODE_USE_ENV_PROXY: '1',
            HTTPS_PROXY: settings.egressProxy.url,
            NO_PROXY: 'localhost,127.0.0.1,169.254.169.254,169.254.170.2,.amazonaws.com',
          }
        : {}),
    };
    const container = this.taskDefinition.addContainer('porthole', {
      image,
      essential: true,
      readonlyRootFilesystem: true,
      user: '10001:10001',
      portMappings: [{ containerPort: CONTAINER_PORT, name: 'http' }],
      environment,
      secrets: {
        SESSION_SECRET: ecs.Secret.fromSecretsManager(secrets.sessionSecret),
        OIDC_CLIENT_SECRET: ecs.Secret.fromSecretsManager(secrets.oidcClientSecret),
        ...(secrets.mainDatabaseUrl ? { MAIN_DATABASE_URL: ecs.Secret.fromSecretsManager(secrets.mainDatabaseUrl) } : {}),
        // {"username","password"}: SES SMTP credentials; /app/start.mjs makes SMTP_URL of them.
        SMTP_SECRET: ecs.Secret.fromSecretsManager(secrets.smtpCredentials),
        // Whole JSON documents: /app/start.mjs turns them into TOOLS_DATABASE_URL / TOOLS_MIGRATION_URL.
        TOOLS_DATABASE_SECRET: ecs.Secret.fromSecretsManager(toolsDatabase.appSecret),
        TOOLS_MIGRATION_SECRET: ecs.Secret.fromSecretsManager(toolsDatabase.ownerSecret),
      },
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'porthole',
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      healthCheck: {
        command: HEALTH_CHECK_COMMAND,
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      stopTimeout: Duration.seconds(30),
    });
    container.addMountPoints({ sourceVolume: TMP_VOLUME, containerPath: '/tmp', readOnly: false });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'Only non-secret settings are plain environment variables (public URL, issuer, client id, proxy trust, role mapping); every secret is injected from Secrets Manager, and deploy/test checks that.',
    });

    // --- the one-off setup task: creates the tools-database roles as the RDS master user --------
    this.setupTaskDefinition = new ecs.FargateTaskDefinition(this, 'SetupTask', {
      family: 'porthole-setup',
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform,
      volumes: [{ name: TMP_VOLUME }],
    });
    const setup = this.setupTaskDefinition.addContainer('setup', {
      image,
      essential: true,
      readonlyRootFilesystem: true,
      user: '10001:10001',
      command: ['node', '/app/setup-tools-database.mjs'],
      environment: DATABASE_TLS_ENVIRONMENT,
      secrets: {
        TOOLS_ADMIN_SECRET: ecs.Secret.fromSecretsManager(toolsDatabase.adminSecret),
        TOOLS_MIGRATION_SECRET: ecs.Secret.fromSecretsManager(toolsDatabase.ownerSecret),
        TOOLS_DATABASE_SECRET: ecs.Secret.fromSecretsManager(toolsDatabase.appSecret),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'setup' }),
    });
    setup.addMountPoints({ sourceVolume: TMP_VOLUME, containerPath: '/tmp', readOnly: false });
    Validations.of(this.setupTaskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The plain variables are the TLS mode and the CA bundle path for the database connection; the credentials come from Secrets Manager.',
    });

    for (const definition of [this.taskDefinition, this.setupTaskDefinition]) {
      Validations.of(definition.obtainExecutionRole()).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken has no resource-level permissions (it must be "*"); pulls, logs and secrets are granted on their own ARNs only, which deploy/test checks.',
      });
    }

    // --- the service ----------------------------------------------------------------------------
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: settings.service.desiredCount,
      assignPublicIp: false,
      vpcSubnets: network.appSubnets,
      securityGroups: [this.taskSecurityGroup],
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(90),
      availabilityZoneRebalancing: ecs.AvailabilityZoneRebalancing.ENABLED,
      enableExecuteCommand: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
    });
    const scaling = this.service.autoScaleTaskCount({
      minCapacity: settings.service.desiredCount,
      maxCapacity: Math.max(settings.service.maxCount, settings.service.desiredCount),
    });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    scaling.scaleOnMemoryUtilization('Memory', { targetUtilizationPercent: 75 });

    // --- the load balancer: HTTPS only, HTTP redirects ------------------------------------------
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      // Load balancer access logs require SSE-S3.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(settings.logRetentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: network.vpc,
      description: 'Porthole load balancer: HTTPS (and HTTP to redirect) from allowed networks; out to the tasks only',
      allowAllOutbound: false,
    });
    for (const cidr of settings.allowedCidrs) {
      albSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from users');
      albSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), 'HTTP from users, redirected to HTTPS');
    }
    if (settings.allowedCidrs.includes('0.0.0.0/0')) {
      Validations.of(albSecurityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'The load balancer is the public entrance (allowedCidrs): only 443 and the 80 redirect are open, behind WAF, and every request needs an SSO session.',
      });
    }
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: network.vpc,
      internetFacing: settings.internetFacing,
      vpcSubnets: network.loadBalancerSubnets,
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: true,
      // Longer than an interactive run may take (QUERY_TIMEOUT_MS, 30 s by default), so its answer is never
      // cut off; anything longer runs in the background, which holds no connection open (README).
      idleTimeout: Duration.seconds(60),
    });
    this.loadBalancer.logAccessLogs(this.accessLogBucket, 'load-balancer');
    const https = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(settings.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
    });
    this.targetGroup = https.addTargets('Porthole', {
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service.loadBalancerTarget({ containerName: 'porthole', containerPort: CONTAINER_PORT })],
      healthCheck: {
        path: '/healthz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      deregistrationDelay: Duration.seconds(30),
    });
    // Prometheus metrics are for the inside: nothing beyond the load balancer reads them.
    https.addAction('HideMetrics', {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/metrics', '/metrics/*'])],
      action: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'Not found' }),
    });
    this.loadBalancer.addRedirect({
      sourcePort: 80,
      sourceProtocol: elbv2.ApplicationProtocol.HTTP,
      targetPort: 443,
      targetProtocol: elbv2.ApplicationProtocol.HTTPS,
      open: false,
    });
  }
}
