// The ECR repository Porthole's image is pushed to: a stack of its own, deployed first, because the
// image must exist before the service that runs it. Tags are immutable (deploy a version, never
// "latest"), every push is scanned, and old untagged layers expire.
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';
import { portholeSynthesizer } from './porthole-stack.js';

export interface ImageRepositoryStackProps extends StackProps {
  repositoryName: string;
}

export class ImageRepositoryStack extends Stack {
  readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: ImageRepositoryStackProps) {
    super(scope, id, { description: 'Porthole: the container image repository', synthesizer: portholeSynthesizer(), ...props });
    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.KMS,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { description: 'Untagged layers left by pushes', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(14) },
        { description: 'Keep the last 100 versions', tagStatus: ecr.TagStatus.ANY, maxImageCount: 100 },
      ],
    });
    new CfnOutput(this, 'RepositoryUri', { value: this.repository.repositoryUri, description: 'docker/podman push target' });
  }
}
