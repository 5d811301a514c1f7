// The network: subnets without a route to the internet for the tasks and the database, public
// subnets for the load balancer only, no NAT gateway. AWS services are reached through VPC endpoints
// (private links), so pulling the image, reading secrets and shipping logs never leave the VPC.
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { PortholeSettings } from './settings.js';

/** The interface endpoints the tasks need: image pull (ECR), logs, secrets, parameters, KMS for the secrets' key, SES SMTP. */
export const INTERFACE_ENDPOINTS = {
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  // Check alerts by email: SES's SMTP interface, so mail leaves without a NAT gateway (port 587).
  EmailSmtp: ec2.InterfaceVpcEndpointAwsService.EMAIL_SMTP,
} as const;

/** The SES SMTP endpoint's port (STARTTLS). */
export const SMTP_PORT = 587;

export interface NetworkProps {
  settings: PortholeSettings;
  key: kms.IKey;
}

export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  readonly vpcCidr: string;
  /** Tasks (and the VPC endpoints). */
  readonly appSubnets: ec2.SubnetSelection;
  /** The tools database. */
  readonly dataSubnets: ec2.SubnetSelection;
  /** The load balancer. */
  readonly loadBalancerSubnets: ec2.SubnetSelection;
  /** Guards the interface endpoints: HTTPS from the tasks and the rotation function only. */
  readonly endpointSecurityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { settings } = props;
    let createEndpoints: boolean;

    if (settings.vpc.kind === 'new') {
      const vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr(settings.vpc.cidr),
        ...(settings.vpc.availabilityZones.length ? { availabilityZones: settings.vpc.availabilityZones } : { maxAzs: 2 }),
        natGateways: 0,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
          { name: 'app', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
          { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        ],
        // Restricting the default security group needs a custom resource (a Lambda function and an
        // asset bucket); nothing here uses the default group.
        restrictDefaultSecurityGroup: false,
      });
      const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: settings.logRetentionDays, encryptionKey: props.key });
      vpc.addFlowLog('FlowLog', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
      this.vpc = vpc;
      this.vpcCidr = settings.vpc.cidr;
      this.appSubnets = { subnetGroupName: 'app' };
      this.dataSubnets = { subnetGroupName: 'data' };
      this.loadBalancerSubnets = settings.internetFacing ? { subnetGroupName: 'public' } : { subnetGroupName: 'app' };
      createEndpoints = true;
    } else {
      const imported = settings.vpc;
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: imported.vpcId,
        vpcCidrBlock: imported.cidr,
        availabilityZones: imported.availabilityZones,
        isolatedSubnetIds: imported.privateSubnetIds,
        isolatedSubnetRouteTableIds: imported.privateRouteTableIds,
        publicSubnetIds: imported.publicSubnetIds.length ? imported.publicSubnetIds : undefined,
      });
      this.vpcCidr = imported.cidr;
      this.appSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
      this.dataSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
      this.loadBalancerSubnets = settings.internetFacing ? { subnetType: ec2.SubnetType.PUBLIC } : this.appSubnets;
      createEndpoints = imported.createEndpoints;
    }

    if (!createEndpoints) return;
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Porthole VPC interface endpoints: HTTPS from Porthole tasks and the secret rotation function only',
      allowAllOutbound: false,
    });
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: this.appSubnets,
        securityGroups: [this.endpointSecurityGroup],
        privateDnsEnabled: true,
        open: false,
      });
    }
    // Image layers come from S3: a gateway endpoint on the private subnets' route tables.
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.appSubnets] });
  }
}
