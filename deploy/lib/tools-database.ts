// Porthole's own PostgreSQL (users, sessions, saved queries, the audit log): private, encrypted,
// backed up, protected from deletion. Three sets of credentials, each a Secrets Manager secret:
//   admin  - the RDS master user, generated and rotated by Secrets Manager; used only by the one-off
//            setup task that creates the two roles below. The service never sees it.
//   owner  - owns the schema and runs migrations (TOOLS_MIGRATION_URL).
//   app    - the serving role: may only append to the audit log (TOOLS_DATABASE_URL).
// owner and app are rotated by re-running the setup task (docs/deploy.md): the multi-user rotation
// Secrets Manager offers clones a login role, and a clone neither owns the schema nor holds its grants.
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Network } from './network.js';
import type { PortholeSettings } from './settings.js';

export const TOOLS_DATABASE_NAME = 'porthole';
export const TOOLS_OWNER_ROLE = 'porthole_owner';
export const TOOLS_APP_ROLE = 'porthole_app';
const ADMIN_USER = 'porthole_admin';
const ENGINE = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 });

export interface ToolsDatabaseProps {
  settings: PortholeSettings;
  network: Network;
  key: kms.IKey;
}

export class ToolsDatabase extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly securityGroup: ec2.SecurityGroup;
  readonly adminSecret: secretsmanager.ISecret;
  readonly ownerSecret: secretsmanager.ISecret;
  readonly appSecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: ToolsDatabaseProps) {
    super(scope, id);
    const { settings, network, key } = props;
    const db = settings.toolsDatabase;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: network.vpc,
      description: 'Porthole tools database: PostgreSQL from Porthole tasks and the rotation function only',
      allowAllOutbound: false,
    });

    // Named so that its PostgreSQL log group can be created here, with retention and encryption,
    // instead of by RDS (unencrypted, kept forever) or by a log-retention Lambda function.
    const instanceIdentifier = `${Stack.of(this).stackName.toLowerCase()}-tools`;
    const postgresLogs = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: settings.logRetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier,
      engine: ENGINE,
      instanceType: new ec2.InstanceType(db.instanceType),
      vpc: network.vpc,
      vpcSubnets: network.dataSubnets,
      securityGroups: [this.securityGroup],
      publiclyAccessible: false,
      // The server certificate's CA must be in the image's RDS CA bundle (verify-full, Dockerfile).
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      port: 5432,
      databaseName: TOOLS_DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret(ADMIN_USER, {
        secretName: 'porthole/tools-database/admin',
        encryptionKey: key,
      }),
      storageEncrypted: true,
      storageEncryptionKey: key,
      storageType: rds.StorageType.GP3,
      allocatedStorage: db.allocatedStorageGiB,
      maxAllocatedStorage: db.maxAllocatedStorageGiB,
      multiAz: db.multiAz,
      backupRetention: Duration.days(db.backupRetentionDays),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: ['postgresql'],
      parameterGroup: new rds.ParameterGroup(this, 'Parameters', {
        engine: ENGINE,
        description: 'Porthole tools database: TLS only, connections logged',
        parameters: { 'rds.force_ssl': '1', log_connections: '1', log_disconnections: '1' },
      }),
    });
    this.instance.node.addDependency(postgresLogs);
    this.adminSecret = this.instance.secret!;
    // The rotation function (from the Serverless Application Repository) runs next to the database and
    // reaches Secrets Manager through the VPC endpoint's private DNS name.
    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: network.vpc,
      description: 'Porthole tools-database credential rotation: out to the database and the Secrets Manager endpoint only',
      allowAllOutbound: false,
    });
    rotationSecurityGroup.addEgressRule(
      ec2.Peer.ipv4(network.vpcCidr),
      ec2.Port.tcp(443),
      'HTTPS to the Secrets Manager endpoint',
    );
    network.endpointSecurityGroup?.addIngressRule(rotationSecurityGroup, ec2.Port.tcp(443), 'HTTPS from the rotation function');
    this.instance.addRotationSingleUser({
      automaticallyAfter: Duration.days(30),
      vpcSubnets: network.dataSubnets,
      securityGroup: rotationSecurityGroup,
    });

    // The launcher in the image builds the URLs from these (username, password, host, port, dbname).
    const roleSecret = (name: string, username: string): secretsmanager.ISecret => {
      const secret = new rds.DatabaseSecret(this, name, {
        username,
        dbname: TOOLS_DATABASE_NAME,
        secretName: `porthole/tools-database/${username.replace('porthole_', '')}`,
        encryptionKey: key,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotated by re-running the setup task after a new value is generated (docs/deploy.md): Secrets Manager multi-user rotation clones the login role, and the clone would neither own the schema nor hold the serving grants.',
      });
      return secret.attach(this.instance);
    };
    this.ownerSecret = roleSecret('OwnerSecret', TOOLS_OWNER_ROLE);
    this.appSecret = roleSecret('AppSecret', TOOLS_APP_ROLE);

    if (!db.multiAz) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: 'Multi-AZ switched off by the toolsDatabaseMultiAz setting (cost); backups and point-in-time recovery remain.',
      });
    }
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'The standard PostgreSQL port: the database is in isolated subnets behind a security group that admits only the Porthole tasks, so another port would hide nothing.',
    });
  }
}
