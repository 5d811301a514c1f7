// The password of an rds-iam source's connections: a token signed for each new connection (pg calls the
// pool's `password` function whenever it opens one), never stored. Signing happens in the process, with
// the task role's credentials from the SDK's default chain (on ECS: the container credentials endpoint);
// nothing is sent to AWS. Tests give the signer their own credentials.
import type { Signer, SignerConfig } from '@aws-sdk/rds-signer';
import type { RdsIamConnection } from './rds-iam.js';

/** Credentials to sign with (an identity or a provider); unset: the SDK's default provider chain. */
export type AwsCredentials = NonNullable<SignerConfig['credentials']>;

/**
 * A function that signs a fresh token on every call. The SDK is loaded on the first call: it takes a
 * noticeable part of a second to import, which a server without rds-iam sources should not pay at start.
 */
export function rdsIamTokenSigner(connection: RdsIamConnection, credentials?: AwsCredentials): () => Promise<string> {
  let signer: Promise<Signer> | undefined;
  const createSigner = async () =>
    new (await import('@aws-sdk/rds-signer')).Signer({
      hostname: connection.host,
      port: connection.port,
      username: connection.user,
      region: connection.region,
      ...(credentials ? { credentials } : {}),
    });
  return async () => {
    try {
      signer ??= createSigner();
      return await (await signer).getAuthToken();
    } catch (error) {
      // Most often: no credentials (no task role, or the credentials endpoint unreachable).
      throw new Error(
        `could not sign an IAM database token for ${connection.user}@${connection.host}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
}
