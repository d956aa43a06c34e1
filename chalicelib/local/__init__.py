"""Local use without an AWS account: an embedded emulator, account seeding and the demo."""
