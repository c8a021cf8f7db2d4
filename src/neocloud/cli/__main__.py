from neocloud.cli.main import run

run()
