import nock from 'nock';
import { afterEach } from 'vitest';

// No test may reach the internet: only loopback (the emulator, local mock servers) is allowed.
nock.disableNetConnect();
nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host));

// Nothing in a test may wander off to instance metadata or to Snowflake's platform detection.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';

afterEach(() => {
  nock.cleanAll();
});
