/** The provider conformance suite (test/conformance/suite.ts) for the gce provider. */
import { defineConformanceSuite } from './suite.js';
import { gceHarness } from './gce-harness.js';

defineConformanceSuite(gceHarness);
