global using FluentAssertions;
global using NUnit.Framework;
global using AgentCore.Testing;
