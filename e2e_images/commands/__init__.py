"""One module per `e2e-images` subcommand (see `e2e_images.cli`)."""
