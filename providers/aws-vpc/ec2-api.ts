/**
 * The narrow EC2 surface the aws-vpc provider uses: exactly the actions of the IAM policy (describe
 * route tables, network interfaces and tags, create/replace/delete route, modify ENI attribute).
 * DescribeTags is called only with --node-tag, for ENIs that do not carry the tag themselves.
 * Tests stub this interface; production wraps a real EC2Client with `ec2ApiFromClient`.
 */
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeTagsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  type CreateRouteCommandInput,
  type CreateRouteResult,
  type DeleteRouteCommandInput,
  type DescribeManagedPrefixListsCommandInput,
  type DescribeManagedPrefixListsResult,
  type DescribeNetworkInterfacesCommandInput,
  type DescribeNetworkInterfacesResult,
  type DescribeRouteTablesCommandInput,
  type DescribeRouteTablesResult,
  type DescribeTagsCommandInput,
  type DescribeTagsResult,
  type ModifyNetworkInterfaceAttributeCommandInput,
  type ReplaceRouteCommandInput,
} from '@aws-sdk/client-ec2';
import { awsClientConfig, type AwsClientSettings } from './sdk-client-config.js';

export interface Ec2Api {
  describeRouteTables(input: DescribeRouteTablesCommandInput, signal: AbortSignal): Promise<DescribeRouteTablesResult>;
  describeNetworkInterfaces(
    input: DescribeNetworkInterfacesCommandInput,
    signal: AbortSignal,
  ): Promise<DescribeNetworkInterfacesResult>;
  describeTags(input: DescribeTagsCommandInput, signal: AbortSignal): Promise<DescribeTagsResult>;
  /** Only when a managed table routes to a prefix list: its MaxEntries is the route's weight (prefix-lists.ts). */
  describeManagedPrefixLists(input: DescribeManagedPrefixListsCommandInput, signal: AbortSignal): Promise<DescribeManagedPrefixListsResult>;
  createRoute(input: CreateRouteCommandInput, signal: AbortSignal): Promise<CreateRouteResult>;
  replaceRoute(input: ReplaceRouteCommandInput, signal: AbortSignal): Promise<unknown>;
  deleteRoute(input: DeleteRouteCommandInput, signal: AbortSignal): Promise<unknown>;
  modifyNetworkInterfaceAttribute(input: ModifyNetworkInterfaceAttributeCommandInput, signal: AbortSignal): Promise<unknown>;
  /** Releases sockets. */
  destroy(): void;
}

export type Ec2ClientSettings = AwsClientSettings;

/** An EC2Client with the provider's client settings (sdk-client-config.ts: one attempt per call). */
export function createEc2Client(settings: Ec2ClientSettings): EC2Client {
  return new EC2Client(awsClientConfig(settings));
}

/** Wraps a real client; every call carries the AbortSignal down to the HTTP request. */
export function ec2ApiFromClient(client: Pick<EC2Client, 'send' | 'destroy'>): Ec2Api {
  return {
    describeRouteTables: (input, signal) => client.send(new DescribeRouteTablesCommand(input), { abortSignal: signal }),
    describeNetworkInterfaces: (input, signal) =>
      client.send(new DescribeNetworkInterfacesCommand(input), { abortSignal: signal }),
    describeTags: (input, signal) => client.send(new DescribeTagsCommand(input), { abortSignal: signal }),
    describeManagedPrefixLists: (input, signal) => client.send(new DescribeManagedPrefixListsCommand(input), { abortSignal: signal }),
    createRoute: (input, signal) => client.send(new CreateRouteCommand(input), { abortSignal: signal }),
    replaceRoute: (input, signal) => client.send(new ReplaceRouteCommand(input), { abortSignal: signal }),
    deleteRoute: (input, signal) => client.send(new DeleteRouteCommand(input), { abortSignal: signal }),
    modifyNetworkInterfaceAttribute: (input, signal) =>
      client.send(new ModifyNetworkInterfaceAttributeCommand(input), { abortSignal: signal }),
    destroy: () => client.destroy(),
  };
}
