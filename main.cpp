// bootstrap: the Lambda function's executable.
#include "app/bootstrap_main.h"
#include "strategies/registry.h"

int main(int argc, char** argv) {
  return secret_rotator::app::BootstrapMain(argc, argv,
                                            secret_rotator::strategies::BuiltInRegistry());
}
