package sandbox_test

const nonRootEnv = "SANDBOX_TEST_NONROOT"

func nonRootChild() int { return 0 }
