import { describe, expect, it } from 'vitest';
import { classifyError, warrantsAnotherPass, type ErrorClass } from '../../src/errors.js';

/** An AWS SDK v3 service error as the EC2 client throws it: name = code, message from the response. */
function awsError(code: string, message: string, httpStatusCode = 400): Error {
  const err = new Error(message);
  err.name = code;
  Object.assign(err, { $fault: 'client', $metadata: { httpStatusCode } });
  return err;
}

describe('classifyError', () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly err: unknown; readonly class: ErrorClass; readonly code: string }> = [
    {
      name: 'ReplaceRoute of a route that is gone: stale, a re-list helps',
      err: awsError('InvalidParameterValue', "There is no route defined for '10.1.7.0/24' in the route table. Use CreateRoute instead."),
      class: 'stale',
      code: 'InvalidParameterValue',
    },
    {
      name: 'an ENI in another VPC: permanent for the lease',
      err: awsError('InvalidParameterValue', 'route table rtb-0123456789abcdef0 and network interface eni-0123456789abcdef0 belong to different networks'),
      class: 'lease',
      code: 'InvalidParameterValue',
    },
    {
      name: 'an instance in another VPC: permanent for the lease',
      err: awsError('InvalidParameterValue', 'route table rtb-0123456789abcdef0 and instance i-0123456789abcdef0 belong to different networks'),
      class: 'lease',
      code: 'InvalidParameterValue',
    },
    {
      name: 'a destination inside the VPC CIDR: permanent for the lease',
      err: awsError(
        'InvalidParameterValue',
        "The destination CIDR block 172.31.1.0/24 is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.",
      ),
      class: 'lease',
      code: 'InvalidParameterValue',
    },
    {
      name: 'InvalidParameterValue without a message: permanent for the lease',
      err: { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } },
      class: 'lease',
      code: 'InvalidParameterValue',
    },
    { name: 'RouteAlreadyExists stays stale', err: awsError('RouteAlreadyExists', 'The route identified by 10.1.1.0/24 already exists.'), class: 'stale', code: 'RouteAlreadyExists' },
    { name: 'RouteLimitExceeded is per lease', err: awsError('RouteLimitExceeded', 'The maximum number of routes has been reached.'), class: 'lease', code: 'RouteLimitExceeded' },
    { name: 'throttling', err: awsError('RequestLimitExceeded', 'Request limit exceeded.', 503), class: 'throttled', code: 'RequestLimitExceeded' },
    { name: 'unauthorized is fatal', err: awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403), class: 'fatal', code: 'UnauthorizedOperation' },
    { name: 'a connection reset is transient', err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), class: 'transient', code: 'ECONNRESET' },
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(classifyError(c.err)).toMatchObject({ class: c.class, code: c.code });
    });
  }

  it('only the stale InvalidParameterValue asks for another pass', () => {
    const gone = classifyError(cases[0]!.err);
    const otherNetwork = classifyError(cases[1]!.err);
    expect(warrantsAnotherPass(gone)).toBe(true);
    expect(warrantsAnotherPass(otherNetwork)).toBe(false);
  });
});
