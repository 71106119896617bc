/** The provider conformance suite (test/conformance/suite.ts) for the aws-vpc provider. */
import { defineConformanceSuite } from './suite.js';
import { awsVpcHarness } from './aws-vpc-harness.js';

defineConformanceSuite(awsVpcHarness);
