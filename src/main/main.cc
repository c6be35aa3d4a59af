#include "main/commands.h"

int main(int argc, char** argv) { return coffer::main::RunCommandLine(argc, argv); }
