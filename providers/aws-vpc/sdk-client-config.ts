/**
 * The settings every AWS SDK client of the provider is built with (ec2-api.ts, service-quotas-api.ts),
 * and the one function that turns them into a client config. Both clients make one attempt per call:
 * routesync owns retries and pacing (SDK retries would bypass the pacer), and a failed quota read
 * falls back until the next period reads again. Credentials, when not given, come from the SDK's
 * default chain (environment, shared config, web identity, ECS/EC2 metadata).
 */
export interface AwsClientSettings {
  readonly region: string;
  /** Endpoint override; default the SDK's (which honours AWS_ENDPOINT_URL_<SERVICE> itself). */
  readonly endpoint?: string;
  /** Appended to the SDK's user agent (visible in CloudTrail as part of userAgent). */
  readonly userAgentSuffix?: string;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function awsClientConfig(settings: AwsClientSettings) {
  return {
    region: settings.region,
    maxAttempts: 1,
    ...(settings.credentials !== undefined ? { credentials: { ...settings.credentials } } : {}),
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    ...(settings.userAgentSuffix !== undefined && settings.userAgentSuffix !== '' ? { customUserAgent: settings.userAgentSuffix } : {}),
    requestHandler: { requestTimeout: settings.requestTimeoutMs, connectionTimeout: settings.connectionTimeoutMs },
  };
}
