// Porthole on AWS: Fargate tasks in private subnets behind an HTTPS load balancer, its own PostgreSQL
// (the tools database), secrets in Secrets Manager, VPC endpoints instead of a NAT gateway, alarms to
// SNS. docs/deploy.md walks through a deployment; deploy/test checks the properties that matter.
import {
  ArnFormat,
  Aws,
  CfnOutput,
  CfnParameter,
  DefaultStackSynthesizer,
  Duration,
  RemovalPolicy,
  Stack,
  Tags,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PortholeAlarms } from './alarms.js';
import { Network } from './network.js';
import { PortholeService, type ApplicationSecrets } from './service.js';
import type { PortholeSettings } from './settings.js';
import { ToolsDatabase } from './tools-database.js';
import { WebFirewall } from './waf.js';

export interface PortholeStackProps extends StackProps {
  settings: PortholeSettings;
}

/** No assets and no bootstrap check: the synthesized template deploys with plain CloudFormation too. */
export const portholeSynthesizer = () => new DefaultStackSynthesizer({ generateBootstrapVersionRule: false });

export class PortholeStack extends Stack {
  readonly key: kms.Key;
  readonly network: Network;
  readonly toolsDatabase: ToolsDatabase;
  readonly secrets: ApplicationSecrets;
  readonly service: PortholeService;
  readonly alarms: PortholeAlarms;
  readonly auditAnchorBucket?: s3.Bucket;
  private readonly settings: PortholeSettings;

  constructor(scope: Construct, id: string, props: PortholeStackProps) {
    super(scope, id, {
      description: 'Porthole: read-only SQL against production, on ECS Fargate in private subnets',
      synthesizer: portholeSynthesizer(),
      ...props,
    });
    const { settings } = props;
    this.settings = settings;
    Tags.of(this).add('application', 'porthole');

    const imageTag = new CfnParameter(this, 'ImageTag', {
      type: 'String',
      description: 'The Porthole image tag in the ECR repository (immutable tags: a version or commit)',
      allowedPattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$',
    });

    this.key = new kms.Key(this, 'Key', {
      description: 'Porthole: secrets, logs, alarm topic, tools database and audit anchors',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts this stack's log groups; CloudWatch alarms publish to the encrypted topic.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
        },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.network = new Network(this, 'Network', { settings, key: this.key });
    this.toolsDatabase = new ToolsDatabase(this, 'ToolsDatabase', { settings, network: this.network, key: this.key });
    this.secrets = this.applicationSecrets();

    const mainDatabaseSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(
      this,
      'MainDatabaseSecurityGroup',
      settings.mainDatabaseSecurityGroupId,
      {
        mutable: true,
        allowAllOutbound: false,
      },
    );
    this.service = new PortholeService(this, 'Porthole', {
      settings,
      network: this.network,
      key: this.key,
      toolsDatabase: this.toolsDatabase,
      secrets: this.secrets,
      repository: ecr.Repository.fromRepositoryName(this, 'Repository', settings.imageRepositoryName),
      imageTag: imageTag.valueAsString,
      mainDatabaseSecurityGroup,
    });
    if (settings.waf) {
      new WebFirewall(this, 'WebFirewall', {
        loadBalancer: this.service.loadBalancer,
        key: this.key,
        logRetention: settings.logRetentionDays,
      });
    }
    this.alarms = new PortholeAlarms(this, 'Alarms', {
      settings,
      key: this.key,
      service: this.service,
      toolsDatabase: this.toolsDatabase,
    });
    if (settings.mainDatabaseIam) this.connectToMainDatabaseWithIam(settings.mainDatabaseIam);
    if (settings.auditAnchors.enabled) {
      this.auditAnchorBucket = this.createAuditAnchorBucket(settings);
      this.writeAnchorsTo(this.auditAnchorBucket);
    } else {
      // (With the anchor bucket, cdk-nag sees this bucket as a log destination and raises nothing.)
      Validations.of(this.service.accessLogBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This bucket receives the load balancer access logs; logging access to it would log into itself.',
      });
    }
    this.outputs(settings);
  }

  private applicationSecrets(): ApplicationSecrets {
    const secret = (id: string, name: string, description: string, rotation: string) => {
      const created = new secretsmanager.Secret(this, id, {
        secretName: `porthole/${name}`,
        description,
        encryptionKey: this.key,
        // A random value to start with: SESSION_SECRET keeps it; the others are replaced (docs/deploy.md).
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
      });
      Validations.of(created).acknowledge({ id: 'AwsSolutions-SMG4', reason: rotation });
      return created;
    };
    return {
      sessionSecret: secret(
        'SessionSecret',
        'session-secret',
        'SESSION_SECRET: signs session cookies; generated here',
        'Rotating the session secret signs every user out, so it is rotated on purpose (docs/deploy.md: put a new random value, then force a new deployment), not on a timer.',
      ),
      oidcClientSecret: secret(
        'OidcClientSecret',
        'oidc-client-secret',
        'OIDC_CLIENT_SECRET: issued by the identity provider; replace the generated placeholder',
        'The identity provider issues this value; it is rotated there and copied here (docs/deploy.md), which Secrets Manager cannot do on its own.',
      ),
      smtpCredentials: (() => {
        const created = new secretsmanager.Secret(this, 'SmtpCredentials', {
          secretName: 'porthole/smtp-credentials',
          description:
            'SMTP_SECRET: SES SMTP credentials {"username","password"} for check alerts; email is off while username is empty',
          encryptionKey: this.key,
          generateSecretString: { secretStringTemplate: JSON.stringify({ username: '' }), generateStringKey: 'password' },
        });
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'SES SMTP credentials are derived from an IAM user access key, rotated in IAM and copied here (docs/deploy.md); Secrets Manager cannot rotate them on its own.',
        });
        return created;
      })(),
      // With IAM database authentication the reader has no password, so there is no URL secret to keep.
      mainDatabaseUrl: this.settings.mainDatabaseIam
        ? undefined
        : secret(
            'MainDatabaseUrl',
            'main-database-url',
            'MAIN_DATABASE_URL: postgres:// URL of the main database as the read-only role from schema/reader-role.sql',
            'The reader role lives in the main database, which this stack does not manage; its password is rotated by re-running schema/reader-role.sql and updating this URL (docs/deploy.md).',
          ),
    };
  }

  /**
   * IAM database authentication for the main database: the tasks sign a token per connection with their
   * role, which may connect as exactly one database user of exactly one database, and nothing else.
   */
  private connectToMainDatabaseWithIam(reader: NonNullable<PortholeSettings['mainDatabaseIam']>): void {
    const container = this.service.taskDefinition.defaultContainer!;
    container.addEnvironment('MAIN_DATABASE_AUTH', 'rds-iam');
    // No password in it: host, port, database and the user to sign tokens for.
    container.addEnvironment(
      'MAIN_DATABASE_URL',
      `postgres://${reader.user}@${reader.host}:${this.settings.mainDatabasePort}/${encodeURIComponent(reader.database)}`,
    );
    this.service.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds-db:connect'],
        resources: [
          this.formatArn({
            service: 'rds-db',
            resource: 'dbuser',
            resourceName: `${reader.resourceId}/${reader.user}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
  }

  /**
   * The tasks' scheduler writes the hourly anchor there (through the S3 gateway endpoint): new objects
   * with a compliance retention only; nothing may delete or shorten one.
   */
  private writeAnchorsTo(bucket: s3.Bucket): void {
    this.service.taskDefinition.defaultContainer!.addEnvironment('AUDIT_ANCHOR_BUCKET', `s3://${bucket.bucketName}/porthole`);
    const taskRole = this.service.taskDefinition.taskRole;
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject', 's3:ListBucket'],
        resources: [bucket.bucketArn, bucket.arnForObjects('porthole/anchors/*')],
      }),
    );
    // The bucket's KMS key: a data key for each new object, decrypt to read one back (audit:verify --anchor).
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }),
    );
    Validations.of(taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<AuditAnchors1A79D4A3.Arn>/porthole/anchors/*]',
      reason:
        'Each hourly anchor is a new object under porthole/anchors/; the role can add and read them, not delete or shorten their retention.',
    });
  }

  private createAuditAnchorBucket(settings: PortholeSettings): s3.Bucket {
    return new s3.Bucket(this, 'AuditAnchors', {
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(settings.auditAnchors.retentionDays)),
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.service.accessLogBucket,
      serverAccessLogsPrefix: 'audit-anchors/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private outputs(settings: PortholeSettings): void {
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output(
      'LoadBalancerDnsName',
      this.service.loadBalancer.loadBalancerDnsName,
      `Point ${settings.domainName} here (CNAME or alias)`,
    );
    output('ClusterName', this.service.cluster.clusterName, 'ECS cluster');
    output('ServiceName', this.service.service.serviceName, 'ECS service');
    output(
      'SetupTaskDefinition',
      this.service.setupTaskDefinition.family,
      'Run once (and after rotating the tools-database role secrets): aws ecs run-task',
    );
    output('TaskSubnets', this.network.vpc.selectSubnets(this.network.appSubnets).subnetIds.join(','), 'Subnets for run-task');
    output('TaskSecurityGroup', this.service.taskSecurityGroup.securityGroupId, 'Security group for run-task');
    output('LogGroup', this.service.logGroup.logGroupName, 'Container logs');
    output('AlarmTopic', this.alarms.topic.topicArn, 'Subscribe to this topic for alarms');
    output('ToolsDatabaseEndpoint', this.toolsDatabase.instance.dbInstanceEndpointAddress, 'Tools database host');
    if (this.auditAnchorBucket)
      output('AuditAnchorBucket', this.auditAnchorBucket.bucketName, 'Object Lock bucket for audit anchors');
  }
}
