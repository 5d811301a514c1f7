// An S3 location as operators write it (s3://bucket/prefix); kept apart from the S3 client so reading the
// configuration does not load the AWS SDK.
export interface S3Location {
  bucket: string;
  prefix: string;
}

/** `s3://bucket/optional/prefix` -> bucket and a prefix ending in `/` (or empty). */
export function parseS3Location(value: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
  if (!match) throw new Error(`not an S3 location (s3://bucket/prefix): ${value}`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: match[1]!, prefix: prefix ? `${prefix}/` : '' };
}
