/** The EC2 simulator: a faithful EC2 Query API for the six actions routesync uses (docs/architecture.md, 'AWS facts'). */
export { startEc2Simulator, CONTROL_METHODS, type Ec2Simulator, type Ec2SimulatorOptions } from './server.js';
export {
  Ec2World,
  Ec2ApiError,
  EC2_ACTIONS,
  MUTATING_ACTIONS,
  defaultStatusFor,
  type Ec2Action,
  type Ec2Call,
  type Ec2CallStats,
  type Ec2WorldOptions,
  type EniSpec,
  type FaultSettings,
  type ForeignRouteInput,
  type RouteInput,
  type RouteOrigin,
  type RouteState,
  type RouteTargetInput,
  type SimAttachment,
  type SimInstance,
  type SimNetworkInterface,
  type SimRoute,
  type SimRouteTable,
  type SimSubnet,
  type SimVpc,
} from './world.js';
export { ManualClock, Throttle, TokenBucket, DEFAULT_BUCKETS, seededRandom, type BucketSpec, type Clock, type ThrottleCategory } from './throttle.js';
export { throttleCategory } from './api.js';
export { seedDemo, type DemoWorld } from './demo.js';
